import Gateway
import XCTest

/// `[backup]` in the configuration file.
final class BackupConfigTests: XCTestCase {
    let zones = """
        [[zones]]
        name = "local"
        kind = "filesystem"
        path = "/tmp/z"

        """

    func testDefaultsAndValues() throws {
        XCTAssertNil(try GatewayConfig.parse(zones, file: "t").backup)
        let c = try GatewayConfig.parse(
            zones + """
                [backup]
                zone = "local"
                bucket = "s3gw-meta"
                wal_interval = 2.5
                retention = 3600
                """, file: "t")
        let b = try XCTUnwrap(c.backup)
        XCTAssertEqual(b.zone, "local")
        XCTAssertEqual(b.bucket, "s3gw-meta")
        XCTAssertEqual(b.walInterval, 2.5)
        XCTAssertEqual(b.retention, 3600)
        XCTAssertEqual(b.snapshotInterval, 86400)
    }

    func testRefusals() {
        for (table, message) in [
            ("[backup]\nbucket = \"s3gw-meta\"\n", "zone"),
            ("[backup]\nzone = \"local\"\n", "bucket"),
            ("[backup]\nzone = \"local\"\nbucket = \"Bad_Name\"\n", "bucket"),
            ("[backup]\nzone = \"elsewhere\"\nbucket = \"s3gw-meta\"\n", "not a configured zone"),
            ("[backup]\nzone = \"local\"\nbucket = \"s3gw-meta\"\nwal_interval = 0\n", "wal_interval"),
            ("[backup]\nzone = \"local\"\nbucket = \"s3gw-meta\"\nspeed = 1\n", "speed"),
            (
                "[metadata]\nkind = \"postgres\"\nurl = \"host=/tmp\"\n[backup]\nzone = \"local\"\nbucket = \"s3gw-meta\"\n",
                "base backups and WAL archiving"
            ),
        ] {
            XCTAssertThrowsError(try GatewayConfig.parse(zones + table, file: "t"), table) { error in
                XCTAssertTrue("\(error)".contains(message), "\(error)")
            }
        }
    }
}
