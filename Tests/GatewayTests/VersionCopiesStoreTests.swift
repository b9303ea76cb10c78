import Foundation
import GatewayCore
import GatewayTesting
import MetadataSQL
import XCTest

/// Copies of noncurrent versions in both stores: recorded, marked and repaired where the version
/// lives; a locked version's stored copy never dropped; removal jobs deferred without an attempt.
final class VersionCopiesStoreTests: XCTestCase {
    var fixture: TwoStores!

    override func setUpWithError() throws { fixture = try TwoStores("vcopies") }

    override func tearDownWithError() throws { fixture.remove() }

    func stores() throws -> [any MetadataStore] {
        let stores = try fixture.stores(
            with: BucketRecord(
                name: "b", owner: "o", createdAt: 1, locationConstraint: "se,fi", zones: ["se-1", "fi-1"],
                backendBucket: "s3gw-se", replicaCount: 2))
        for s in stores {
            try s.setVersioning(bucket: "b", .enabled)
            try s.setObjectLock(bucket: "b", ObjectLockConfig())
        }
        return stores
    }

    func object(_ blob: String, at time: Double) -> ObjectRecord {
        ObjectRecord(
            bucket: "b", key: "k", size: 1, etag: "e", lastModified: time, contentType: "t", headers: [],
            checksums: [:], zone: "se-1", blob: blob, replicas: [Replica(zone: "fi-1", backendBucket: "s3gw-fi")])
    }

    func testANoncurrentVersionsCopiesAreRecordedWhereItLives() throws {
        for store in try stores() {
            let name = "\(type(of: store))"
            let v1 = try store.putVersion(object("g1", at: 100), condition: nil).stored
            _ = try store.putVersion(object("g2", at: 200), condition: nil)
            // Both versions' copies are queued; the overwrite cancelled nothing of g1's.
            let jobs = try store.jobs(bucket: "b", key: "k", limit: 10)
            XCTAssertEqual(jobs.filter { $0.kind == .replicate }.map(\.generation).sorted(), ["g1", "g2"], name)

            XCTAssertTrue(try store.completeReplica(bucket: "b", key: "k", generation: "g1", zone: "fi-1", blob: "r1"))
            let kept = try XCTUnwrap(try store.version(bucket: "b", key: "k", versionId: v1.versionId), name)
            XCTAssertEqual(
                kept.replicas, [Replica(zone: "fi-1", backendBucket: "s3gw-fi", blob: "r1", state: .completed)])
            XCTAssertEqual(try store.object(bucket: "b", key: "k")?.generation, "g2", name)
            XCTAssertEqual(try store.object(bucket: "b", key: "k")?.replicas.map(\.state), [.pending], name)

            // A dead-lettered copy of a noncurrent version is marked failed, and pending again on retry.
            let g2 = try XCTUnwrap(jobs.first { $0.generation == "g2" })
            for j in try store.claimJobs(owner: "a", now: 300, lease: 60, limit: 10) {
                try store.failJob(id: j.id, owner: "a", error: "x", retryAt: nil, now: 300)
            }
            XCTAssertEqual(try store.object(bucket: "b", key: "k")?.replicas.map(\.state), [.failed], name)
            XCTAssertEqual(try store.retryJobs(ids: [g2.id], now: 400), 1, name)
            XCTAssertEqual(try store.object(bucket: "b", key: "k")?.replicas.map(\.state), [.pending], name)
        }
    }

    func testALockedVersionsStoredCopyIsNeverDroppedAndItsRemovalWaits() throws {
        for store in try stores() {
            let name = "\(type(of: store))"
            let v1 = try store.putVersion(object("g1", at: 100), condition: nil).stored
            XCTAssertTrue(try store.completeReplica(bucket: "b", key: "k", generation: "g1", zone: "fi-1", blob: "r1"))
            _ = try store.putVersion(object("g2", at: 200), condition: nil)
            _ = try store.changeLock(
                bucket: "b", key: "k", versionId: v1.versionId,
                .retention(Retention(mode: .compliance, until: 10_000)), bypassGovernance: false, now: 300)
            let before = try store.jobs(bucket: "b", key: "k", limit: 10)

            XCTAssertThrowsError(
                try store.setReplicas(bucket: "b", key: "k", generation: "g1", replicas: [], now: 300), name
            ) { e in
                guard case .objectLocked = e as? StoreError else { return XCTFail("\(e)", file: #filePath) }
            }
            let kept = try XCTUnwrap(try store.version(bucket: "b", key: "k", versionId: v1.versionId), name)
            XCTAssertEqual(kept.replicas.map(\.blob), ["r1"], name)
            XCTAssertEqual(try store.jobs(bucket: "b", key: "k", limit: 10), before, "no job queued")
            // Adding a copy to a locked version is no drop.
            try store.setReplicas(
                bucket: "b", key: "k", generation: "g1",
                replicas: kept.replicas + [Replica(zone: "se-1", backendBucket: "s3gw-se2")], now: 300)
            // After the date the copy may go; its removal job names the version.
            try store.setReplicas(bucket: "b", key: "k", generation: "g1", replicas: [], now: 20_000)
            let removal = try XCTUnwrap(
                try store.jobs(bucket: "b", key: "k", limit: 10).first { $0.kind == .removeBlob }, name)
            XCTAssertEqual([removal.generation, removal.blob], ["g1", "r1"], name)

            // Deferred: pending until the date, no attempt counted, only by its holder.
            let claimed = try store.claimJobs(owner: "a", now: 20_000, lease: 60, limit: 10)
            let job = try XCTUnwrap(claimed.first { $0.id == removal.id }, name)
            XCTAssertEqual(job.attempts, 1, name)
            try store.deferJob(id: job.id, owner: "other", until: 90_000)
            XCTAssertEqual(try store.jobs(bucket: "b", key: "k", limit: 10).first { $0.id == job.id }?.state, .running)
            try store.deferJob(id: job.id, owner: "a", until: 90_000)
            let deferred = try XCTUnwrap(try store.jobs(bucket: "b", key: "k", limit: 10).first { $0.id == job.id })
            XCTAssertEqual(deferred.state, .pending, name)
            XCTAssertEqual(deferred.notBefore, 90_000, name)
            XCTAssertEqual(deferred.attempts, 0, name)
            XCTAssertEqual(deferred.lastError, ReplicationJob.deferredNote, name)
            XCTAssertFalse(
                try store.claimJobs(owner: "a", now: 89_000, lease: 60, limit: 10).contains { $0.id == job.id }, name)
            XCTAssertTrue(
                try store.claimJobs(owner: "a", now: 90_000, lease: 60, limit: 10).contains { $0.id == job.id }, name)
        }
    }

    func testARepairOfALockedNoncurrentVersionReplacesOnlyDamagedCopies() throws {
        for store in try stores() {
            let name = "\(type(of: store))"
            let v1 = try store.putVersion(object("g1", at: 100), condition: nil).stored
            XCTAssertTrue(try store.completeReplica(bucket: "b", key: "k", generation: "g1", zone: "fi-1", blob: "r1"))
            _ = try store.putVersion(object("g2", at: 200), condition: nil)
            let found = try XCTUnwrap(
                try store.changeLock(
                    bucket: "b", key: "k", versionId: v1.versionId, .legalHold(true), bypassGovernance: false, now: 300)
            )

            // Dropping the copy outright is refused.
            var dropped = found
            dropped.replicas = []
            XCTAssertThrowsError(
                try store.repairCopies(
                    CopyRepair(found: found, repaired: dropped, formerPrimaryBackendBucket: "s3gw-se"), now: 300), name)
            // Copying a damaged one again is a repair.
            var remade = found
            remade.replicas = [Replica(zone: "fi-1", backendBucket: "s3gw-fi")]
            XCTAssertTrue(
                try store.repairCopies(
                    CopyRepair(found: found, repaired: remade, formerPrimaryBackendBucket: "s3gw-se"), now: 300), name)
            let v = try XCTUnwrap(try store.version(bucket: "b", key: "k", versionId: v1.versionId), name)
            XCTAssertEqual(v.replicas.map(\.state), [.pending], name)
            XCTAssertTrue(v.legalHold, name)
            let jobs = try store.jobs(bucket: "b", key: "k", limit: 10)
            XCTAssertTrue(jobs.contains { $0.kind == .replicate && $0.generation == "g1" }, name)
            XCTAssertTrue(jobs.contains { $0.kind == .removeBlob && $0.blob == "r1" && $0.generation == "g1" }, name)
            XCTAssertEqual(try store.object(bucket: "b", key: "k")?.generation, "g2", "the latest untouched")
        }
    }
}
