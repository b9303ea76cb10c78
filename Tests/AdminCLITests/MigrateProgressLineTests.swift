import Foundation
import Gateway
import XCTest

@testable import s3gw

/// The progress line of `s3gw migrate run` names the bucket being copied, which is the source's
/// text: control characters in it reach the terminal escaped.
final class MigrateProgressLineTests: XCTestCase {
    func testTheProgressLineIsTerminalSafe() throws {
        let document = """
            {"id": "r", "plan_id": "r", "tenant": "default", "state": "running", "read_through": false,
             "owner": "h:1", "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:10Z",
             "objects_total": 10, "bytes_total": 100, "objects_done": 5, "bytes_done": 50,
             "objects_copied": 5, "bytes_copied": 50, "objects_present": 0, "objects_skipped": 0,
             "bytes_skipped": 0, "objects_read_through": 0, "bytes_read_through": 0, "verification": {},
             "rate_bytes_per_second": 5, "current_bucket": "b\\u001b]0;owned\\u0007\\r",
             "buckets": [], "skipped": [], "skipped_truncated": false}
            """
        let status = try MigrationJSON.decoder().decode(MigrationRunStatus.self, from: Data(document.utf8))
        let line = ProgressLine.text(status)
        XCTAssertTrue(line.hasPrefix("b\\u{1b}]0;owned\\u{7}\\u{d}: 5/10 objects"), line)
        XCTAssertFalse(line.unicodeScalars.contains { $0.value < 0x20 })
    }
}
