import Gateway
import GatewayCore
import GatewayTesting
import Logging
import SigV4
import XCTest

/// The agent's health check: a zone whose probe hangs is marked failed after the check's bound,
/// without holding up the other zones, and is marked down after three checks in a row.
final class ZoneHealthCheckTests: XCTestCase {
    func testHungProbeIsAFailureAfterTheBoundAndDoesNotHoldUpTheOthers() throws {
        let healthy = InMemoryZone(name: "zone-a")
        let hung = InMemoryZone(name: "zone-h")
        hung.probeDelay = 3
        let metadata = InMemoryMetadataStore()
        let context = GatewayContext(
            metadata: metadata, zones: ["zone-a": healthy, "zone-h": hung],
            catalog: ZoneCatalog(
                zones: [
                    ZoneCatalog.Zone(name: "zone-a", country: "se", region: "se-sto"),
                    ZoneCatalog.Zone(name: "zone-h", country: "se", region: "se-sto"),
                ], defaultZone: "zone-a"),
            identities: TestGateway.identities(metadata).1, clock: SystemClock(),
            installationSecret: Array(repeating: 7, count: 32), logger: Logger(label: "test"))

        let t0 = Date()
        let first = Maintenance.checkZones(context, timeout: 0.3)
        XCTAssertLessThan(Date().timeIntervalSince(t0), 1.5, "the check waited for the hung probe")
        XCTAssertEqual(first.map(\.state), [.healthy, .degraded])
        XCTAssertEqual(first[1].lastError, "zone zone-h: the probe did not return within 0.3 s")

        // Still hanging: not started again, failed at once; the third failure in a row is down.
        let t1 = Date()
        Maintenance.checkZones(context, timeout: 0.3)
        let third = Maintenance.checkZones(context, timeout: 0.3)
        XCTAssertLessThan(Date().timeIntervalSince(t1), 0.5)
        XCTAssertEqual(third.map(\.state), [.healthy, .down])
        XCTAssertEqual(third[1].lastError, "zone zone-h: the previous probe has not returned yet")
        XCTAssertEqual(try metadata.zoneHealth().first { $0.zone == "zone-h" }?.state, .down)

        // Once the probe answers again, the zone is healthy on the next check.
        hung.probeDelay = 0
        let back = try XCTUnwrap(
            (0..<60).lazy.map { _ -> [ZoneHealth] in
                Thread.sleep(forTimeInterval: 0.1)
                return Maintenance.checkZones(context, timeout: 0.3)
            }.first { $0[1].state == .healthy })
        XCTAssertEqual(back.map(\.state), [.healthy, .healthy])
    }

}
