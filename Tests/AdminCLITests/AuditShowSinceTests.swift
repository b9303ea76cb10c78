import XCTest

@testable import s3gw

/// `s3gw audit show --since` takes what `oplog --since` takes, and epoch seconds: the API gets
/// whole epoch seconds either way.
final class AuditShowSinceTests: XCTestCase {
    func testAgesTimesAndEpochSeconds() throws {
        let show = try AuditCommand.Show.parse([])
        let now: Double = 1_800_000_000.7
        XCTAssertEqual(show.sinceSeconds("15m", now: now), 1_800_000_000 - 900)
        XCTAssertEqual(show.sinceSeconds("2h", now: now), 1_800_000_000 - 7200)
        XCTAssertEqual(show.sinceSeconds("7d", now: now), 1_800_000_000 - 7 * 86400)
        XCTAssertEqual(show.sinceSeconds("2026-11-29T12:00:00Z", now: now), 1_795_953_600)
        XCTAssertEqual(show.sinceSeconds("1700000000", now: now), 1_700_000_000)
        for bad in ["15x", "m", "-5m", "yesterday", ""] {
            XCTAssertEqual(show.sinceSeconds(bad, now: now), -1, bad)
        }
        XCTAssertNoThrow(try AuditCommand.Show.parse(["--since", "15m"]))
        XCTAssertThrowsError(try AuditCommand.Show.parse(["--since", "15x"]))
    }
}
