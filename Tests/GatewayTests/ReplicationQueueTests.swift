import Foundation
import GatewayCore
import GatewayTesting
import MetadataSQL
import XCTest

/// The replication queue's semantics, the same for the SQLite store and the in-memory double:
/// jobs follow every change of an object's copies in the change's own transaction.
final class ReplicationQueueTests: XCTestCase {
    var fixture: TwoStores!

    override func setUpWithError() throws { fixture = try TwoStores("queue") }

    override func tearDownWithError() throws { fixture.remove() }

    func stores() throws -> [any MetadataStore] { try fixture.stores(with: TwoStores.replicated) }

    func object(_ blob: String, replicas: [Replica]) -> ObjectRecord {
        ObjectRecord(
            bucket: "b", key: "k", size: 1, etag: "e", lastModified: 100, contentType: "t", headers: [], checksums: [:],
            zone: "se-1", blob: blob, replicas: replicas)
    }

    /// A copy is recorded only by the agent still holding the job's lease: one whose lease ran
    /// out while it copied (or waited on the zone's commit) and was taken over records nothing,
    /// so the copy is made once however slow the first agent was.
    func testACopyIsRecordedOnlyUnderTheJobsLease() throws {
        for store in try stores() {
            let name = "\(type(of: store))"
            _ = try store.putObject(object("g1", replicas: [Replica(zone: "fi-1", backendBucket: "s3gw-fi")]))
            let first = try store.claimJobs(owner: "a", now: 100, lease: 5, limit: 1)
            XCTAssertEqual(first.count, 1, name)
            // a's lease (until 105) expires; b takes the job over.
            let second = try store.claimJobs(owner: "b", now: 106, lease: 5, limit: 1)
            XCTAssertEqual(second.map(\.id), first.map(\.id), name)
            XCTAssertFalse(
                try store.completeReplica(
                    bucket: "b", key: "k", generation: "g1", zone: "fi-1", blob: "by-a", lease: (first[0].id, "a")),
                name)
            XCTAssertEqual(try store.object(bucket: "b", key: "k")?.replicas.first?.blob, "", name)
            XCTAssertTrue(
                try store.completeReplica(
                    bucket: "b", key: "k", generation: "g1", zone: "fi-1", blob: "by-b", lease: (first[0].id, "b")),
                name)
            XCTAssertEqual(try store.object(bucket: "b", key: "k")?.replicas.first?.blob, "by-b", name)
            // A job finished (gone) or never claimed holds no lease either.
            try store.finishJob(id: first[0].id, owner: "b", now: 110)
            XCTAssertFalse(
                try store.completeReplica(
                    bucket: "b", key: "k", generation: "g1", zone: "fi-1", blob: "late", lease: (first[0].id, "b")),
                name)
        }
    }

    func testJobsFollowWritesOverwritesAndDeletes() throws {
        for store in try stores() {
            let name = "\(type(of: store))"
            XCTAssertEqual(try store.bucket(named: "b")?.replicaCount, 2, name)
            _ = try store.putObject(object("g1", replicas: [Replica(zone: "fi-1", backendBucket: "s3gw-fi")]))
            var jobs = try store.jobs(bucket: "b", key: "k", limit: 10)
            XCTAssertEqual(jobs.map(\.kind), [.replicate], name)
            XCTAssertEqual(jobs.first?.generation, "g1", name)

            // Copied: recorded for this generation only.
            XCTAssertFalse(try store.completeReplica(bucket: "b", key: "k", generation: "old", zone: "fi-1", blob: "x"))
            let claimed = try store.claimJobs(owner: "a", now: 100, lease: 60, limit: 5)
            XCTAssertTrue(try store.completeReplica(bucket: "b", key: "k", generation: "g1", zone: "fi-1", blob: "r1"))
            try store.finishJob(id: claimed[0].id, owner: "a", now: 100)
            XCTAssertEqual(try store.object(bucket: "b", key: "k")?.replicationStatus, "COMPLETED", name)

            // Overwrite: the stored replica is queued for removal, the new write for a copy.
            _ = try store.putObject(object("g2", replicas: [Replica(zone: "fi-1", backendBucket: "s3gw-fi")]))
            jobs = try store.jobs(bucket: "b", key: "k", limit: 10)
            XCTAssertEqual(jobs.map(\.kind), [.replicate, .removeBlob], name)
            XCTAssertEqual(jobs.last?.blob, "r1", name)
            XCTAssertEqual(jobs.last?.backendBucket, "s3gw-fi", name)

            // Overwritten again before the copy ran: the queued copy of g2 is dropped for g3's.
            _ = try store.putObject(object("g3", replicas: [Replica(zone: "fi-1", backendBucket: "s3gw-fi")]))
            jobs = try store.jobs(bucket: "b", key: "k", limit: 10)
            XCTAssertEqual(jobs.filter { $0.kind == .replicate }.map(\.generation), ["g3"], name)

            // Delete: nothing stored in fi-1 yet, so nothing more to remove; the copy job is dropped.
            _ = try store.deleteObject(bucket: "b", key: "k", now: 200)
            jobs = try store.jobs(bucket: "b", key: "k", limit: 10)
            XCTAssertEqual(jobs.map(\.kind), [.removeBlob], name)
            XCTAssertEqual(try store.queueStats(now: 300).pending, 1, name)
            XCTAssertEqual(try store.queueStats(now: 300).oldestPendingAge, 200, name)
        }
    }

    func testFailuresBackOffDeadLetterAndRetry() throws {
        for store in try stores() {
            let name = "\(type(of: store))"
            _ = try store.putObject(object("g1", replicas: [Replica(zone: "fi-1", backendBucket: "s3gw-fi")]))
            var job = try XCTUnwrap(try store.claimJobs(owner: "a", now: 100, lease: 60, limit: 5).first)
            try store.failJob(id: job.id, owner: "a", error: "fi-1 unreachable", retryAt: 150, now: 100)
            XCTAssertEqual(try store.claimJobs(owner: "a", now: 120, lease: 60, limit: 5), [], "not due yet: \(name)")
            XCTAssertEqual(try store.queueStats(now: 120).retrying, 1, name)
            job = try XCTUnwrap(try store.claimJobs(owner: "a", now: 150, lease: 60, limit: 5).first)
            XCTAssertEqual(job.attempts, 2, name)
            // Another holder's failure report changes nothing.
            try store.failJob(id: job.id, owner: "intruder", error: "x", retryAt: nil, now: 100)
            XCTAssertEqual(try store.jobs(bucket: "b", key: "k", limit: 5).first?.state, .running, name)
            try store.failJob(id: job.id, owner: "a", error: "fi-1 unreachable", retryAt: nil, now: 100)
            XCTAssertEqual(try store.jobs(bucket: "b", key: "k", limit: 5).first?.state, .dead, name)
            XCTAssertEqual(try store.object(bucket: "b", key: "k")?.replicationStatus, "FAILED", name)
            XCTAssertEqual(try store.queueStats(now: 200).dead, 1, name)
            XCTAssertEqual(try store.claimJobs(owner: "a", now: 10_000, lease: 60, limit: 5), [], "dead stays: \(name)")
            XCTAssertEqual(try store.retryJobs(ids: [job.id], now: 300), 1, name)
            XCTAssertEqual(try store.object(bucket: "b", key: "k")?.replicationStatus, "PENDING", name)
            XCTAssertEqual(try store.claimJobs(owner: "a", now: 300, lease: 60, limit: 5).first?.attempts, 1, name)
            XCTAssertFalse(try store.cancelJob(id: job.id), "a running job cannot be cancelled: \(name)")
            // Two failed attempts at minute 1 (now: 100); nothing finished yet.
            var stats = try store.queueStats(now: 120)
            XCTAssertEqual(stats.failedPerMinute, 2.0 / Double(QueueStats.window), name)
            XCTAssertEqual(stats.finishedPerMinute, 0, name)
            try store.finishJob(id: job.id, owner: "a", now: 130)
            stats = try store.queueStats(now: 130)
            XCTAssertEqual(stats.finishedPerMinute, 1.0 / Double(QueueStats.window), name)
            // Out of the window, the rate is back to none.
            XCTAssertEqual(try store.queueStats(now: 130 + 60 * Double(QueueStats.window)).finishedPerMinute, 0, name)
        }
    }

    func testFewerReplicasQueueTheSurplusForRemoval() throws {
        for store in try stores() {
            let name = "\(type(of: store))"
            _ = try store.putObject(
                object("g1", replicas: [Replica(zone: "fi-1", backendBucket: "s3gw-fi", blob: "r1", state: .completed)])
            )
            XCTAssertEqual(try store.jobs(bucket: "b", key: "k", limit: 5), [], name)
            XCTAssertThrowsError(
                try store.setReplicas(bucket: "b", key: "k", generation: "other", replicas: [], now: 5), name)
            try store.setReplicas(bucket: "b", key: "k", generation: "g1", replicas: [], now: 5)
            let jobs = try store.jobs(bucket: "b", key: "k", limit: 5)
            XCTAssertEqual(jobs.map(\.kind), [.removeBlob], name)
            XCTAssertEqual(jobs.first?.blob, "r1", name)
            XCTAssertNil(try store.object(bucket: "b", key: "k")?.replicationStatus, name)
        }
    }
}

extension ReplicationQueueTests {
    func testCopiesAreClaimedBeforeRemovals() throws {
        for store in try stores() {
            let name = "\(type(of: store))"
            _ = try store.putObject(
                object("g1", replicas: [Replica(zone: "fi-1", backendBucket: "s3gw-fi", blob: "r1", state: .completed)])
            )
            // The overwrite queues the old copy's removal first, then the new copy.
            _ = try store.putObject(object("g2", replicas: [Replica(zone: "fi-1", backendBucket: "s3gw-fi")]))
            let order = try store.claimJobs(owner: "a", now: 100, lease: 60, limit: 5).map(\.kind)
            XCTAssertEqual(order, [.replicate, .removeBlob], name)
        }
    }
}
