import ArgumentParser
import Foundation
import XCTest

@testable import s3gw

/// `s3gw metadata restore` writes an SQLite store: with `[metadata] kind = "postgres"` it refuses
/// to run unless `--to` names where the SQLite file goes.
final class MetadataRestoreOnPostgresTests: XCTestCase {
    private var configPath = ""

    override func setUpWithError() throws {
        let dir = NSTemporaryDirectory() + "s3gw-restore-pg-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        configPath = dir + "/s3gw.toml"
        try """
        [server]
        socket = "\(dir)/s.sock"
        state_dir = "\(dir)/state"

        [[zones]]
        name = "z1"
        path = "\(dir)/z1"

        [metadata]
        kind = "postgres"
        url = "host=127.0.0.1 dbname=s3gw"
        """.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: (configPath as NSString).deletingLastPathComponent)
    }

    private func restore(_ extra: [String]) throws {
        var command = try S3GW.parseAsRoot(["metadata", "restore", "--config", configPath, "--zone", "z1"] + extra)
        try command.run()
    }

    func testRefusedOnPostgresWithoutTo() {
        XCTAssertThrowsError(try restore([])) { error in
            XCTAssertEqual((error as? ExitCode)?.rawValue, 1, "\(error)")
        }
        XCTAssertTrue(MetadataCommand.Restore.postgresRefusal.contains("docs/METADATA.md"))
        XCTAssertTrue(MetadataCommand.Restore.postgresRefusal.contains("--to"))
    }

    func testWithToItGoesOnToTheBackupSource() {
        // Past the guard: the next thing it needs is the bucket holding the backups.
        XCTAssertThrowsError(try restore(["--to", NSTemporaryDirectory() + "restored.sqlite"])) { error in
            XCTAssertTrue("\(error)".contains("--bucket"), "\(error)")
        }
    }
}
