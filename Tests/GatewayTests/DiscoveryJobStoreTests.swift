import Foundation
import GatewayCore
import GatewayTesting
import MetadataSQLite
import XCTest

/// Discovery job rows behave the same in SQLite and in memory: progress only on running rows,
/// the cancel flag answered with progress, a finish that lands once, newest first per tenant,
/// and a running row whose process stopped beating read as interrupted.
final class DiscoveryJobStoreTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "s3gw-djobs-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func stores() throws -> [(String, any DiscoveryJobStore)] {
        [("sqlite", try SQLiteMetadataStore(path: dir + "/m.sqlite")), ("memory", InMemoryMetadataStore())]
    }

    static func job(_ id: String, tenant: String = "acme", at t: Double = 100) -> DiscoveryJob {
        DiscoveryJob(
            id: id, tenant: tenant, user: "alice", createdAt: t, endpointHost: "s3.amazonaws.com",
            region: "us-east-1", sanitization: "hashed", prefixDepth: 2, owner: "host:1")
    }

    func testRowsLiveThroughProgressCancelAndFinish() throws {
        for (name, store) in try stores() {
            try store.createDiscoveryJob(Self.job("j1"))
            XCTAssertThrowsError(try store.createDiscoveryJob(Self.job("j1")), name)
            try store.createDiscoveryJob(Self.job("j2", at: 200))
            try store.createDiscoveryJob(Self.job("j3", tenant: "other", at: 300))
            XCTAssertEqual(try store.discoveryJobs(tenant: "acme", limit: 10).map(\.id), ["j2", "j1"], name)
            XCTAssertEqual(try store.discoveryJobs(tenant: "acme", limit: 1).map(\.id), ["j2"], name)

            let p = DiscoveryProgress(bucketsTotal: 4, bucketsDone: 1, objects: 1500, bytes: 9000, currentBucket: "b2")
            XCTAssertFalse(try store.recordDiscoveryProgress(id: "j1", p, now: 110), name)
            var j = try XCTUnwrap(store.discoveryJob(id: "j1"))
            XCTAssertEqual(
                [j.bucketsTotal, j.bucketsDone, Int(j.objects), Int(j.bytes)], [4, 1, 1500, 9000], name)
            XCTAssertEqual(j.currentBucket, "b2")
            XCTAssertEqual(j.heartbeatAt, 110)

            XCTAssertEqual(try store.requestDiscoveryCancel(id: "j1", now: 111)?.cancelRequested, true, name)
            XCTAssertTrue(try store.recordDiscoveryProgress(id: "j1", p, now: 112), "the flag answers progress")
            XCTAssertThrowsError(try store.recordDiscoveryProgress(id: "gone", p, now: 112), name)

            try store.finishDiscoveryJob(
                id: "j1", state: .cancelled, progress: p, error: "", hasSnapshot: true, now: 120)
            // A second finish (a drain racing the thread) changes nothing.
            try store.finishDiscoveryJob(
                id: "j1", state: .interrupted, progress: DiscoveryProgress(), error: "x", hasSnapshot: false, now: 130)
            j = try XCTUnwrap(store.discoveryJob(id: "j1"))
            XCTAssertEqual(j.state, .cancelled, name)
            XCTAssertEqual(j.finishedAt, 120)
            XCTAssertTrue(j.hasSnapshot)
            XCTAssertEqual(j.currentBucket, "")
            // Progress after the end is not recorded.
            _ = try store.recordDiscoveryProgress(id: "j1", DiscoveryProgress(objects: 1), now: 140)
            XCTAssertEqual(try store.discoveryJob(id: "j1")?.objects, 1500, name)

            XCTAssertTrue(try store.deleteDiscoveryJob(id: "j1"), name)
            XCTAssertFalse(try store.deleteDiscoveryJob(id: "j1"), name)
            XCTAssertNil(try store.discoveryJob(id: "j1"), name)
        }
    }

    func testARunningRowWithoutHeartbeatReadsAsInterrupted() throws {
        for (name, store) in try stores() {
            try store.createDiscoveryJob(Self.job("j1"))
            try store.touchDiscoveryJobs(ids: ["j1"], now: 150)
            let j = try XCTUnwrap(store.discoveryJob(id: "j1"))
            XCTAssertEqual(j.heartbeatAt, 150, name)
            XCTAssertEqual(j.observed(at: 150 + DiscoveryJob.staleAfter).state, .running, name)
            let stale = j.observed(at: 151 + DiscoveryJob.staleAfter)
            XCTAssertEqual(stale.state, .interrupted, name)
            XCTAssertFalse(stale.error.isEmpty)
            // Finished rows never read as interrupted, however old.
            try store.finishDiscoveryJob(
                id: "j1", state: .done, progress: DiscoveryProgress(), error: "", hasSnapshot: true, now: 160)
            XCTAssertEqual(try store.discoveryJob(id: "j1")?.observed(at: 1e9).state, .done, name)
        }
    }
}
