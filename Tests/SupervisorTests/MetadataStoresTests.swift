import Foundation
import Gateway
import GatewayCore
import PostgresTesting
import XCTest

@testable import s3gw

/// `[metadata]` picks the store every process opens (MetadataStores.open).
final class MetadataStoresTests: XCTestCase {
    private func config(_ metadata: String, stateDir: String) throws -> GatewayConfig {
        try GatewayConfig.parse(
            """
            [server]
            socket = "/tmp/s.sock"
            state_dir = "\(stateDir)"

            [[zones]]
            name = "z1"
            path = "/data/z1"
            \(metadata)
            """, file: "t.toml")
    }

    private func bucket(_ name: String) -> BucketRecord {
        BucketRecord(
            name: name, owner: "o", createdAt: 1, locationConstraint: "", zones: ["z1"], backendBucket: "b-" + name)
    }

    func testSQLiteByDefaultInTheStateDirectory() throws {
        let dir = NSTemporaryDirectory() + "s3gw-stores-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try MetadataStores.open(try config("", stateDir: dir))
        _ = try store.createBucket(bucket("one"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/metadata.sqlite"))
    }

    func testPostgresFromTheURLAndReadOnlyForVerification() throws {
        if case .absent(let reason) = TestPostgres.server { throw XCTSkip(reason) }
        let url = try XCTUnwrap(TestPostgres.freshDatabase())
        defer { try? TestPostgres.drop(url) }
        let dir = NSTemporaryDirectory() + "s3gw-stores-\(UUID().uuidString)"
        let c = try config("\n[metadata]\nkind = \"postgres\"\nurl = \"\(url)\"\n", stateDir: dir)
        let store = try MetadataStores.open(c)
        _ = try store.createBucket(bucket("shared"))
        // Another process (a second host) sees the same database; no SQLite file appears.
        XCTAssertEqual(try MetadataStores.open(c).bucket(named: "shared")?.backendBucket, "b-shared")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/metadata.sqlite"))
        let reader = try MetadataStores.open(c, readOnly: true)
        XCTAssertEqual(try reader.bucket(named: "shared")?.name, "shared")
        XCTAssertThrowsError(try reader.createBucket(bucket("refused")))
        XCTAssertNil(try store.bucket(named: "refused"))
    }

    func testPostgresURLWithSeveralHostsOpensTheWritableOne() throws {
        if case .absent(let reason) = TestPostgres.server { throw XCTSkip(reason) }
        let dead = try DeadPort()
        let live = try XCTUnwrap(TestPostgres.freshDatabase())
        let url = try XCTUnwrap(TestPostgres.multiHost(live, deadPort: dead.port))
        let dir = NSTemporaryDirectory() + "s3gw-stores-\(UUID().uuidString)"
        let store = try MetadataStores.open(
            try config("\n[metadata]\nkind = \"postgres\"\nurl = \"\(url)\"\n", stateDir: dir))
        _ = try store.createBucket(bucket("multi"))
        // The bucket is in the live server's database, as a single-host url sees it.
        let direct = try MetadataStores.open(
            try config("\n[metadata]\nkind = \"postgres\"\nurl = \"\(live)\"\n", stateDir: dir))
        XCTAssertEqual(try direct.bucket(named: "multi")?.backendBucket, "b-multi")
    }
}
