import Gateway
import XCTest

/// `[router]` (the global router needs no zone) and `[s3] signing_hosts`.
final class RouterConfigTests: XCTestCase {
    func testARouterNeedsNoZonesAndKeepsItsTableInTheStateDirectory() throws {
        let c = try GatewayConfig.parse("[server]\nstate_dir = \"/var/lib/router\"\n[router]\n", file: "r.toml")
        XCTAssertEqual(c.router?.storePath(stateDir: c.stateDir), "/var/lib/router/router.sqlite")
        XCTAssertEqual(c.router?.lookup, true)
        let custom = try GatewayConfig.parse("[router]\nstore = \"/data/r.sqlite\"\nlookup = false\n", file: "r.toml")
        XCTAssertEqual(custom.router?.storePath(stateDir: custom.stateDir), "/data/r.sqlite")
        XCTAssertEqual(custom.router?.lookup, false)
        XCTAssertThrowsError(try GatewayConfig.parse("[router]\nstore = \"relative.sqlite\"\n", file: "r.toml"))
        XCTAssertThrowsError(try GatewayConfig.parse("[router]\nendpoint = \"x\"\n", file: "r.toml"))
        // A gateway still needs its zones.
        XCTAssertThrowsError(try GatewayConfig.parse("[server]\nworkers = 1\n", file: "g.toml"))
    }

    func testSigningHostsAreHostsAndPorts() throws {
        let zone = "[[zones]]\nname = \"z\"\npath = \"/z\"\n"
        let c = try GatewayConfig.parse(
            zone + "[s3]\nsigning_hosts = [\"router.example:443\", \"r.example\"]\n", file: "g")
        XCTAssertEqual(c.signingHosts, ["router.example:443", "r.example"])
        XCTAssertEqual(try GatewayConfig.parse(zone, file: "g").signingHosts, [])
        XCTAssertThrowsError(
            try GatewayConfig.parse(zone + "[s3]\nsigning_hosts = [\"https://r.example\"]\n", file: "g"))
        XCTAssertThrowsError(try GatewayConfig.parse(zone + "[s3]\nsigning_hosts = [\"\"]\n", file: "g"))
    }
}
