import Foundation
import Gateway
import GatewayCore
import GatewayTesting
import MetadataSQL
import XCTest

/// The store calls behind the admin API's operations, the same for the SQLite store and the
/// in-memory double.
final class AdminStoreTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "s3gw-adminstore-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func stores() throws -> [any MetadataStore] {
        let stores: [any MetadataStore] = [try sqlStore(dir: dir), InMemoryMetadataStore()]
        for s in stores {
            for name in ["a", "b"] {
                _ = try s.createBucket(
                    BucketRecord(
                        name: name, owner: "o", createdAt: 1, locationConstraint: "se", zones: ["se-1", "se-2"],
                        backendBucket: "s3gw-\(name)", replicaCount: 2))
            }
        }
        return stores
    }

    func put(_ store: any MetadataStore, _ bucket: String, _ key: String, size: Int64) throws {
        _ = try store.putObject(
            ObjectRecord(
                bucket: bucket, key: key, size: size, etag: "e", lastModified: 100, contentType: "t", headers: [],
                checksums: [:], zone: "se-1", blob: "blob-\(key)",
                replicas: [Replica(zone: "se-2", backendBucket: "s3gw-\(bucket)")]))
    }

    func testJobsAreFilteredByStateAndPagedById() throws {
        for store in try stores() {
            let name = "\(type(of: store))"
            for key in ["k1", "k2", "k3"] { try put(store, "a", key, size: 1) }
            try put(store, "b", "k1", size: 1)
            let all = try store.jobs(bucket: nil, key: nil, state: nil, after: 0, limit: 10)
            XCTAssertEqual(all.count, 4, name)
            let claimed = try store.claimJobs(owner: "h:1:0", now: 100, lease: 60, limit: 1)
            try store.failJob(id: claimed[0].id, owner: "h:1:0", error: "no", retryAt: nil, now: 100)
            _ = try store.claimJobs(owner: "h:1:0", now: 100, lease: 60, limit: 1)
            XCTAssertEqual(
                try store.jobs(bucket: nil, key: nil, state: .dead, after: 0, limit: 10).map(\.id), [claimed[0].id],
                name)
            XCTAssertEqual(try store.jobs(bucket: nil, key: nil, state: .running, after: 0, limit: 10).count, 1, name)
            XCTAssertEqual(try store.jobs(bucket: nil, key: nil, state: .pending, after: 0, limit: 10).count, 2, name)
            XCTAssertEqual(
                try store.jobs(bucket: nil, key: nil, state: nil, after: all[1].id, limit: 10).map(\.id),
                all.dropFirst(2).map(\.id), name)
            XCTAssertEqual(try store.jobs(bucket: nil, key: nil, state: nil, after: 0, limit: 2).count, 2, name)
            XCTAssertEqual(try store.jobs(bucket: "a", key: "k2", state: nil, after: 0, limit: 10).count, 1, name)
            XCTAssertEqual(try store.jobs(bucket: "b", key: nil, state: nil, after: 0, limit: 10).count, 1, name)
        }
    }

    func testABucketsOwnerIsSetAndItsUsageCounted() throws {
        for store in try stores() {
            let name = "\(type(of: store))"
            try put(store, "a", "x", size: 10)
            try put(store, "a", "y", size: 32)
            try put(store, "b", "z", size: 5)
            XCTAssertTrue(try store.bucketUsage(bucket: "a") == (2, 42), name)
            XCTAssertTrue(try store.bucketUsage(bucket: "none") == (0, 0), name)
            try store.setBucketOwner(bucket: "a", owner: "new")
            XCTAssertEqual(try store.bucket(named: "a")?.owner, "new", name)
            XCTAssertEqual(try store.bucket(named: "b")?.owner, "o", name)
            XCTAssertThrowsError(try store.setBucketOwner(bucket: "none", owner: "x"), name) {
                XCTAssertEqual($0 as? StoreError, .noSuchBucket)
            }
        }
    }

    func testHeartbeatsAreKeptPerProcessAndRole() throws {
        for store in try stores() {
            let name = "\(type(of: store))"
            let agent = Heartbeat(role: .agent, host: "h", pid: 1, startedAt: 1, beatAt: 2)
            let worker = Heartbeat(role: .worker, host: "h", pid: 2, startedAt: 1, beatAt: 2, requestsServed: 9)
            try agent.record(store)
            try worker.record(store)
            XCTAssertEqual(try Heartbeat.all(.agent, store), [agent], name)
            XCTAssertEqual(try Heartbeat.all(.worker, store), [worker], name)
            try worker.remove(store)
            XCTAssertEqual(try Heartbeat.all(.worker, store), [], name)
        }
    }
}
