import Foundation
import GatewayCore
import GatewayTesting
import MetadataSQL
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
        [("sqlite", try sqlStore(dir: dir)), ("memory", InMemoryMetadataStore())]
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
            // Progress after the end is not recorded, and tells the thread to stop.
            XCTAssertTrue(try store.recordDiscoveryProgress(id: "j1", DiscoveryProgress(objects: 1), now: 140), name)
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

    /// Pages of a tenant's jobs, newest first: each page starts right after the marker, ties in
    /// time go by id, and a marker stays good after its job is deleted.
    func testJobsArePagedByAMarkerThatSurvivesItsJob() throws {
        for (name, store) in try stores() {
            for (id, t) in [("a", 100.0), ("b", 300), ("c", 200), ("d", 200), ("e", 200.5), ("f", 50)] {
                try store.createDiscoveryJob(Self.job(id, at: t))
            }
            try store.createDiscoveryJob(Self.job("x", tenant: "other", at: 250))
            var seen: [String] = []
            var marker: DiscoveryJob.Marker?
            repeat {
                let page = try store.discoveryJobs(tenant: "acme", after: marker, limit: 2)
                seen += page.map(\.id)
                marker =
                    page.count == 2 ? page.last.map { DiscoveryJob.Marker(after: $0) } : nil
                if let m = marker { XCTAssertEqual(DiscoveryJob.Marker(m.text), m, name) }
            } while marker != nil
            XCTAssertEqual(seen, ["b", "e", "c", "d", "a", "f"], name)
            let afterC = DiscoveryJob.Marker(after: try XCTUnwrap(store.discoveryJob(id: "c")))
            XCTAssertTrue(try store.deleteDiscoveryJob(id: "c"), name)
            XCTAssertEqual(
                try store.discoveryJobs(tenant: "acme", after: afterC, limit: 10).map(\.id), ["d", "a", "f"])
        }
    }

    /// The rows of jobs whose process died end as interrupted when swept; live and finished
    /// rows, and other tenants', stay as they are.
    func testStaleRunningRowsAreInterruptedWhenSwept() throws {
        for (name, store) in try stores() {
            try store.createDiscoveryJob(Self.job("dead", at: 100))
            try store.createDiscoveryJob(Self.job("live", at: 100))
            try store.touchDiscoveryJobs(ids: ["live"], now: 190)
            try store.createDiscoveryJob(Self.job("done", at: 100))
            try store.finishDiscoveryJob(
                id: "done", state: .done, progress: DiscoveryProgress(), error: "", hasSnapshot: true, now: 110)
            try store.createDiscoveryJob(Self.job("elsewhere", tenant: "other", at: 100))
            let ended = try store.interruptStaleDiscoveryJobs(tenant: "acme", beatBefore: 170, error: "died", now: 200)
            XCTAssertEqual(ended, ["dead"], name)
            let dead = try XCTUnwrap(store.discoveryJob(id: "dead"))
            XCTAssertEqual([dead.state.rawValue, dead.error], ["interrupted", "died"], name)
            XCTAssertEqual(dead.finishedAt, 200)
            XCTAssertFalse(dead.hasSnapshot)
            XCTAssertEqual(try store.discoveryJob(id: "live")?.state, .running, name)
            XCTAssertEqual(try store.discoveryJob(id: "done")?.state, .done, name)
            XCTAssertEqual(try store.discoveryJob(id: "elsewhere")?.state, .running, name)
            // The dead job's thread, should it wake, is told to stop.
            XCTAssertTrue(try store.recordDiscoveryProgress(id: "dead", DiscoveryProgress(), now: 210), name)
        }
    }
}
