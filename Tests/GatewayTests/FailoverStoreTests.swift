import Foundation
import GatewayCore
import GatewayTesting
import MetadataSQL
import XCTest

/// The store calls behind failover, repair and scrub, the same for the SQLite store and the
/// in-memory double.
final class FailoverStoreTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "s3gw-failover-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func stores() throws -> [any MetadataStore] {
        let stores: [any MetadataStore] = [try sqlStore(dir: dir), InMemoryMetadataStore()]
        for s in stores {
            for (name, owner) in [("b", "o"), ("a", "o"), ("c", "other")] {
                _ = try s.createBucket(
                    BucketRecord(
                        name: name, owner: owner, createdAt: 1, locationConstraint: "fi,se",
                        zones: ["fi-1", "se-1", "se-2"], backendBucket: "s3gw-\(name)", replicaCount: 2))
            }
        }
        return stores
    }

    func testEveryOwnersBucketsArePagedInNameOrder() throws {
        for store in try stores() {
            let name = "\(type(of: store))"
            XCTAssertEqual(try store.allBuckets(after: "", limit: 2).map(\.name), ["a", "b"], name)
            XCTAssertEqual(try store.allBuckets(after: "b", limit: 2).map(\.name), ["c"], name)
            XCTAssertEqual(try store.allBuckets(after: "c", limit: 2).map(\.name), [], name)
        }
    }

    func testThePlacementIsReorderedNeverChanged() throws {
        for store in try stores() {
            let name = "\(type(of: store))"
            try store.setBucketZones(bucket: "b", zones: ["se-1", "fi-1", "se-2"])
            XCTAssertEqual(try store.bucket(named: "b")?.zones, ["se-1", "fi-1", "se-2"], name)
            XCTAssertEqual(try store.bucket(named: "b")?.primaryZone, "se-1", name)
            // A zone the bucket does not have, or one dropped: refused, nothing changes.
            XCTAssertThrowsError(try store.setBucketZones(bucket: "b", zones: ["de-1", "fi-1", "se-2"]), name) {
                XCTAssertEqual($0 as? StoreError, .conflict)
            }
            XCTAssertThrowsError(try store.setBucketZones(bucket: "b", zones: ["fi-1", "se-2"]), name)
            XCTAssertEqual(try store.bucket(named: "b")?.zones, ["se-1", "fi-1", "se-2"], name)
            XCTAssertThrowsError(try store.setBucketZones(bucket: "nope", zones: []), name) {
                XCTAssertEqual($0 as? StoreError, .noSuchBucket)
            }
        }
    }

    func object(_ blob: String, zone: String = "fi-1", replicas: [Replica]) -> ObjectRecord {
        ObjectRecord(
            bucket: "b", key: "k", size: 3, etag: "e", lastModified: 100, contentType: "t", headers: [], checksums: [:],
            zone: zone, blob: blob, replicas: replicas)
    }

    func testARepairOfAReplicaForgetsItsBlobAndQueuesACopy() throws {
        for store in try stores() {
            let name = "\(type(of: store))"
            let found = object(
                "g1", replicas: [Replica(zone: "se-1", backendBucket: "s3gw-se", blob: "r1", state: .completed)])
            _ = try store.putObject(found)
            for j in try store.claimJobs(owner: "a", now: 100, lease: 60, limit: 10) {
                try store.finishJob(id: j.id, owner: "a", now: 100)
            }
            var repaired = found
            repaired.replicas[0] = Replica(zone: "se-1", backendBucket: "s3gw-se")
            let repair = CopyRepair(found: found, repaired: repaired, formerPrimaryBackendBucket: "s3gw-fi")
            XCTAssertTrue(try store.repairCopies(repair, now: 200), name)
            XCTAssertEqual(try store.object(bucket: "b", key: "k")?.replicas, repaired.replicas, name)
            let jobs = try store.jobs(bucket: "b", key: "k", limit: 10)
            XCTAssertEqual(jobs.map(\.kind), [.replicate, .removeBlob], name)
            XCTAssertEqual(jobs.map(\.zone), ["se-1", "se-1"], name)
            XCTAssertEqual(jobs[0].generation, "g1", name)
            XCTAssertEqual(
                jobs.map(\.priority), [ReplicationJob.Priority.repair, ReplicationJob.Priority.remove], name)
            XCTAssertEqual(jobs[1].blob, "r1", name)
            // Decided on what is no longer there (the copy is pending now): not applied twice.
            XCTAssertFalse(try store.repairCopies(repair, now: 300), name)
            XCTAssertEqual(try store.jobs(bucket: "b", key: "k", limit: 10).count, 2, name)
        }
    }

    func testALostPrimaryCopyHandsItsRoleToTheReplica() throws {
        for store in try stores() {
            let name = "\(type(of: store))"
            let found = object(
                "g1", replicas: [Replica(zone: "se-1", backendBucket: "s3gw-se", blob: "r1", state: .completed)])
            _ = try store.putObject(found)
            for j in try store.claimJobs(owner: "a", now: 100, lease: 60, limit: 10) {
                try store.finishJob(id: j.id, owner: "a", now: 100)
            }
            // Tagged meanwhile: the repair keeps the tags and changes only the copies.
            try store.setObjectTags(bucket: "b", key: "k", tags: [Header("t", "v")])
            var repaired = found
            repaired.zone = "se-1"
            repaired.blob = "r1"
            repaired.replicas = [Replica(zone: "fi-1", backendBucket: "s3gw-fi")]
            let repair = CopyRepair(found: found, repaired: repaired, formerPrimaryBackendBucket: "s3gw-fi")
            XCTAssertTrue(try store.repairCopies(repair, now: 200), name)
            let now = try XCTUnwrap(try store.object(bucket: "b", key: "k"))
            XCTAssertEqual(now.zone, "se-1", name)
            XCTAssertEqual(now.generation, "r1", name)
            XCTAssertEqual(now.tags, [Header("t", "v")], name)
            XCTAssertEqual(now.replicationStatus, "PENDING", name)
            let jobs = try store.jobs(bucket: "b", key: "k", limit: 10)
            // A copy back to fi-1 of the new generation, and the old primary blob's removal
            // there; the blob that became the primary copy is not removed.
            XCTAssertEqual(jobs.map(\.kind), [.replicate, .removeBlob], name)
            XCTAssertEqual(jobs[0].zone, "fi-1", name)
            XCTAssertEqual(jobs[0].generation, "r1", name)
            XCTAssertEqual(jobs[0].priority, ReplicationJob.Priority.repair, name)
            XCTAssertEqual([jobs[1].zone, jobs[1].backendBucket, jobs[1].blob], ["fi-1", "s3gw-fi", "g1"], name)
            // A copy of the old generation finishing now records nothing.
            XCTAssertFalse(
                try store.completeReplica(bucket: "b", key: "k", generation: "g1", zone: "fi-1", blob: "late"), name)
        }
    }

    func testWakingAZoneMakesItsWaitingJobsDue() throws {
        for store in try stores() {
            let name = "\(type(of: store))"
            _ = try store.putObject(
                object("g1", replicas: [Replica(zone: "se-1", backendBucket: "s3gw-se")]))
            let job = try XCTUnwrap(try store.claimJobs(owner: "a", now: 100, lease: 60, limit: 5).first)
            try store.failJob(id: job.id, owner: "a", error: "down", retryAt: 5000, now: 100)
            XCTAssertEqual(try store.claimJobs(owner: "a", now: 200, lease: 60, limit: 5), [], name)
            XCTAssertEqual(try store.wakeJobs(zone: "fi-1", now: 200), 0, name)
            XCTAssertEqual(try store.wakeJobs(zone: "se-1", now: 200), 1, name)
            XCTAssertEqual(try store.claimJobs(owner: "a", now: 200, lease: 60, limit: 5).map(\.id), [job.id], name)
        }
    }

    func testAgentNotesSurviveAndGo() throws {
        for store in try stores() {
            let name = "\(type(of: store))"
            XCTAssertNil(try store.agentState("scrub"), name)
            try store.setAgentState("scrub", "b/some key")
            try store.setAgentState("repair:fi-1", "")
            try store.setAgentState("repair:se_1", "a/")
            try store.setAgentState("repairs", "x")
            XCTAssertEqual(try store.agentState("scrub"), "b/some key", name)
            try store.setAgentState("scrub", "c/")
            XCTAssertEqual(try store.agentState("scrub"), "c/", name)
            XCTAssertEqual(try store.agentStates(prefix: "repair:").map(\.key), ["repair:fi-1", "repair:se_1"], name)
            try store.setAgentState("repair:fi-1", nil)
            XCTAssertEqual(try store.agentStates(prefix: "repair:").map(\.value), ["a/"], name)
        }
        // Kept across a reopen of the file.
        XCTAssertEqual(try sqlStore(dir: dir).agentState("scrub"), "c/")
    }
}
