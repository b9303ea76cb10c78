import Foundation
import GatewayCore
import GatewayTesting
import MetadataSQL
import XCTest

/// The migration records of both stores, with the same assertions: copy records replace by
/// (bucket, key), runs list newest first per tenant, read-through routes go with their run.
final class MigrationStoreTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "s3gw-migration-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func stores() throws -> [(String, any MetadataStore)] {
        [("sqlite", try sqlStore(dir: dir)), ("memory", InMemoryMetadataStore())]
    }

    func testCopyRecordsReplaceByBucketAndKey() throws {
        for (name, store) in try stores() {
            XCTAssertNil(try store.migratedObject(bucket: "t/b", key: "k"), name)
            let first = MigratedObject(
                bucket: "t/b", key: "k", sourceETag: "s1", size: 3, gatewayETag: "g1", verification: "md5",
                runId: "r1", updatedAt: 10)
            try store.recordMigratedObject(first)
            XCTAssertEqual(try store.migratedObject(bucket: "t/b", key: "k"), first, name)
            var second = first
            second.sourceETag = "s2-2"
            second.verification = "size"
            second.committed = true
            try store.recordMigratedObject(second)
            XCTAssertEqual(try store.migratedObject(bucket: "t/b", key: "k"), second, name)
            XCTAssertNil(try store.migratedObject(bucket: "t/b", key: "k2"), name)
            XCTAssertNil(try store.migratedObject(bucket: "other", key: "k"), name)
        }
    }

    func testRunsAndReadThroughRoutes() throws {
        for (name, store) in try stores() {
            for (id, tenant, t) in [("r1", "default", 1.0), ("r2", "acme", 2.0), ("r3", "default", 3.0)] {
                try store.saveMigrationRun(
                    MigrationRunRow(id: id, tenant: tenant, planId: "p", state: "running", updatedAt: t, document: "{}")
                )
            }
            var r1 = try XCTUnwrap(try store.migrationRun(id: "r1"), name)
            r1.state = "done"
            r1.updatedAt = 4
            try store.saveMigrationRun(r1)
            XCTAssertEqual(try store.migrationRuns(tenant: "default").map(\.id), ["r1", "r3"], name)
            XCTAssertEqual(try store.migrationRuns(tenant: nil).map(\.id), ["r1", "r3", "r2"], name)
            XCTAssertEqual(try store.migrationRun(id: "r1")?.state, "done", name)

            try store.setReadThrough(ReadThroughRoute(bucket: "b1", runId: "r1", socket: "/s1"))
            try store.setReadThrough(ReadThroughRoute(bucket: "b2", runId: "r1", socket: "/s1"))
            try store.setReadThrough(ReadThroughRoute(bucket: "b3", runId: "r3", socket: "/s3"))
            XCTAssertEqual(try store.readThrough(bucket: "b2")?.socket, "/s1", name)
            try store.removeReadThrough(runId: "r1")
            XCTAssertNil(try store.readThrough(bucket: "b1"), name)
            XCTAssertNil(try store.readThrough(bucket: "b2"), name)
            XCTAssertEqual(try store.readThrough(bucket: "b3")?.runId, "r3", name)
        }
    }

    func testAClaimIsWrittenOnlyOverTheRowItRead() throws {
        for (name, store) in try stores() {
            func row(_ state: String, _ t: Double, _ doc: String) -> MigrationRunRow {
                MigrationRunRow(id: "r", tenant: "default", planId: "r", state: state, updatedAt: t, document: doc)
            }
            let first = row("running", 1, "{\"owner\":\"a\"}")
            XCTAssertTrue(try store.claimMigrationRun(first, replacing: nil), name)
            XCTAssertFalse(
                try store.claimMigrationRun(row("running", 1, "{}"), replacing: nil), "\(name): a row exists")
            XCTAssertEqual(try store.migrationRun(id: "r"), first, name)
            // Two claimers read `first`; the second finds it gone.
            let second = row("running", 2, "{\"owner\":\"b\"}")
            XCTAssertTrue(try store.claimMigrationRun(second, replacing: first), name)
            XCTAssertFalse(try store.claimMigrationRun(row("running", 2, "{\"owner\":\"c\"}"), replacing: first), name)
            XCTAssertEqual(try store.migrationRun(id: "r"), second, name)
        }
    }

    func testARunsRouteRemovalLeavesABucketAnotherRunRoutesNow() throws {
        for (name, store) in try stores() {
            try store.setReadThrough(ReadThroughRoute(bucket: "b1", runId: "r1", socket: "/s1"))
            try store.setReadThrough(ReadThroughRoute(bucket: "b1", runId: "r2", socket: "/s2"))
            try store.removeReadThrough(runId: "r1")
            XCTAssertEqual(try store.readThrough(bucket: "b1")?.runId, "r2", name)
            try store.removeReadThrough(runId: "r2")
            XCTAssertNil(try store.readThrough(bucket: "b1"), name)
        }
    }

    func testDeletingABucketForgetsItsCopyRecords() throws {
        for (name, store) in try stores() {
            for b in ["gone", "kept"] {
                _ = try store.createBucket(
                    BucketRecord(
                        name: b, owner: "o", createdAt: 1, locationConstraint: "", zones: ["z"], backendBucket: b))
                try store.recordMigratedObject(
                    MigratedObject(
                        bucket: b, key: "k", sourceETag: "s", size: 1, gatewayETag: "g", verification: "md5",
                        runId: "r", updatedAt: 1))
            }
            try store.deleteBucket(named: "gone")
            XCTAssertNil(
                try store.migratedObject(bucket: "gone", key: "k"), "\(name): a new bucket of that name starts clean")
            XCTAssertNotNil(try store.migratedObject(bucket: "kept", key: "k"), name)
        }
    }
}
