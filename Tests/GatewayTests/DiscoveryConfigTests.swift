import Gateway
import XCTest

/// `[discovery] max_jobs` and `drain_timeout`: defaults, values, bounds.
final class DiscoveryConfigTests: XCTestCase {
    static let zones = """
        [[zones]]
        name = "z1"
        path = "/data/z1"
        """

    func testDefaultsValuesAndBounds() throws {
        let plain = try GatewayConfig.parse(Self.zones, file: "t.toml")
        XCTAssertEqual(plain.discovery.maxJobs, 2)
        XCTAssertEqual(plain.discovery.drainTimeout, 20)
        let set = try GatewayConfig.parse(
            "[discovery]\nmax_jobs = 5\ndrain_timeout = 0\n" + Self.zones, file: "t.toml")
        XCTAssertEqual(set.discovery.maxJobs, 5)
        XCTAssertEqual(set.discovery.drainTimeout, 0)
        for bad in ["max_jobs = 0", "max_jobs = 65", "drain_timeout = 101", "jobs = 1"] {
            XCTAssertThrowsError(try GatewayConfig.parse("[discovery]\n\(bad)\n" + Self.zones, file: "t.toml"), bad)
        }
    }

    func testTheShippedConfigurationParses() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "../../config/s3gw.toml")
        let shipped = try String(contentsOf: url, encoding: .utf8)
        let uncommented = shipped.replacingOccurrences(of: "# [discovery]\n", with: "[discovery]\n")
            .replacingOccurrences(of: "# max_jobs = 2\n", with: "max_jobs = 3\n")
            .replacingOccurrences(of: "# drain_timeout = 20\n", with: "drain_timeout = 7\n")
        let c = try GatewayConfig.parse(uncommented, file: url.path)
        XCTAssertEqual(c.discovery.maxJobs, 3, "the example documents max_jobs")
        XCTAssertEqual(c.discovery.drainTimeout, 7, "the example documents drain_timeout")
    }
}
