import Foundation
import GatewayCore
import GatewayTesting
import XCTest

@testable import MetadataSQL

/// The stores' version write paths (docs/VERSIONING.md, "Store operations"), the SQLite store
/// and the in-memory double held to the same answers.
final class VersionStoreTests: XCTestCase {
    var fixture: TwoStores!

    override func setUpWithError() throws { fixture = try TwoStores("versions") }
    override func tearDown() { fixture.remove() }

    static let bucket = BucketRecord(
        name: "b", owner: "o", createdAt: 1, locationConstraint: "", zones: ["z1"], backendBucket: "bb")

    func stores(_ versioning: Versioning = .enabled) throws -> [any MetadataStore] {
        let stores = try fixture.stores(with: Self.bucket)
        if versioning != .unversioned { for s in stores { try s.setVersioning(bucket: "b", versioning) } }
        return stores
    }

    func record(_ key: String, _ blob: String, at time: Double) -> ObjectRecord {
        ObjectRecord(
            bucket: "b", key: key, size: Int64(blob.utf8.count), etag: "e-\(blob)", lastModified: time,
            contentType: "t", headers: [], checksums: [:], zone: "z1", blob: blob)
    }

    @discardableResult
    func put(_ s: any MetadataStore, _ key: String, _ blob: String, at time: Double) throws -> ObjectRecord {
        try s.putVersion(record(key, blob, at: time), condition: nil).stored
    }

    /// Every entry of the bucket's listing: (key, blob or "marker", version id, is latest).
    func listing(_ s: any MetadataStore, prefix: String = "") throws -> [String] {
        try s.listVersions(bucket: "b", query: VersionListQuery(prefix: prefix)).entries.map {
            "\($0.record.key) \($0.record.isDeleteMarker ? "marker" : $0.record.blob)\($0.isLatest ? " latest" : "")"
        }
    }

    func name(_ s: any MetadataStore) -> String { "\(type(of: s))" }

    // MARK: version ids

    func testVersionIdsGrowWhenTheClockGoesBackAndAreWellFormed() {
        let first = VersionId.make(after: "", now: 1000)
        let second = VersionId.make(after: first, now: 999)
        let third = VersionId.make(after: second, now: 999)
        XCTAssertLessThan(first, second)
        XCTAssertLessThan(second, third)
        for id in [first, second, third] {
            XCTAssertEqual(id.utf8.count, 32)
            XCTAssertTrue(VersionId.isWellFormed(id), id)
        }
        XCTAssertLessThan("", first, "rows from before versioning are older than any")
        XCTAssertTrue(VersionId.isWellFormed("null"))
        for junk in ["", "NULL", "0123", String(repeating: "g", count: 32), first.uppercased(), first + "0", "../x"] {
            XCTAssertFalse(VersionId.isWellFormed(junk), junk)
        }
    }

    // MARK: writes

    func testEnabledWritesKeepEveryVersionNewestFirst() throws {
        for s in try stores() {
            let a = try put(s, "k", "a", at: 10)
            let b = try put(s, "k", "b", at: 11)
            let outcome = try s.putVersion(record("k", "c", at: 12), condition: nil)
            XCTAssertNil(outcome.removed, name(s))
            XCTAssertEqual(outcome.stored.versionId, outcome.stored.versionSeq)
            XCTAssertTrue(VersionId.isWellFormed(a.versionId) && a.versionId != VersionId.null)
            XCTAssertEqual(try listing(s), ["k c latest", "k b", "k a"], name(s))
            let page = try s.listObjects(bucket: "b", query: ListQuery())
            XCTAssertEqual(page.objects.map(\.blob), ["c"], name(s))
            XCTAssertEqual(try s.object(bucket: "b", key: "k")?.versionId, outcome.stored.versionId)
            XCTAssertEqual(try s.version(bucket: "b", key: "k", versionId: a.versionId)?.noncurrentSince, 11)
            XCTAssertEqual(try s.version(bucket: "b", key: "k", versionId: b.versionId)?.noncurrentSince, 12)
            XCTAssertEqual(try s.object(bucket: "b", key: "k")?.noncurrentSince, 0)
            XCTAssertEqual(try s.version(bucket: "b", key: "k", generation: "a")?.versionId, a.versionId)
            let usage = try s.bucketUsage(bucket: "b")
            XCTAssertEqual(usage.objects, 3)
            XCTAssertEqual(usage.bytes, 3)
        }
    }

    func testUnversionedWritesReplaceTheNullVersion() throws {
        for s in try stores(.unversioned) {
            try put(s, "k", "a", at: 10)
            let outcome = try s.putVersion(record("k", "b", at: 11), condition: nil)
            XCTAssertEqual(outcome.removed?.blob, "a", name(s))
            XCTAssertEqual(outcome.stored.versionId, VersionId.null)
            XCTAssertEqual(try listing(s), ["k b latest"], name(s))
            // The unversioned calls answer as before.
            XCTAssertEqual(try s.putObject(record("k", "c", at: 12), condition: nil)?.blob, "b")
            XCTAssertEqual(try s.deleteObject(bucket: "b", key: "k", now: 13)?.blob, "c")
            XCTAssertNil(try s.deleteObject(bucket: "b", key: "k", now: 14))
            XCTAssertEqual(try listing(s), [], name(s))
        }
    }

    func testASuspendedWriteReplacesOnlyTheNullVersion() throws {
        for s in try stores(.unversioned) {
            try put(s, "k", "a", at: 10)  // null
            try s.setVersioning(bucket: "b", .enabled)
            try put(s, "k", "b", at: 11)
            try s.setVersioning(bucket: "b", .suspended)
            var outcome = try s.putVersion(record("k", "c", at: 12), condition: nil)
            XCTAssertEqual(outcome.removed?.blob, "a", name(s))
            XCTAssertEqual(outcome.stored.versionId, VersionId.null)
            XCTAssertEqual(try listing(s), ["k c latest", "k b"], name(s))
            outcome = try s.putVersion(record("k", "d", at: 13), condition: nil)
            XCTAssertEqual(outcome.removed?.blob, "c", name(s))
            XCTAssertEqual(try listing(s), ["k d latest", "k b"], name(s))
            // b stopped being the latest when c was written, not when d replaced c.
            let b = try s.listVersions(bucket: "b", query: VersionListQuery()).entries[1].record
            XCTAssertEqual(b.noncurrentSince, 12, name(s))
        }
    }

    func testMultipartCompleteCreatesAVersion() throws {
        for s in try stores() {
            try put(s, "k", "a", at: 10)
            try s.createUpload(
                UploadRecord(
                    uploadId: "u1", bucket: "b", key: "k", initiated: 10, contentType: "t", headers: [],
                    checksumAlgorithm: "", zone: "z1"))
            _ = try s.putPart(
                PartRecord(
                    uploadId: "u1", partNumber: 1, size: 2, etag: "pe", lastModified: 11, checksums: [:], blob: "p1"))
            var done = record("k", "", at: 12)
            done.parts = [BlobPart(blob: "p1", size: 2)]
            done.uploadId = "u1"
            let result = try s.completeUploadVersion("u1", object: done, condition: nil)
            XCTAssertNil(result.outcome.removed, name(s))
            XCTAssertEqual(result.parts.map(\.blob), ["p1"])
            XCTAssertNotEqual(result.outcome.stored.versionId, VersionId.null)
            XCTAssertNil(try s.upload(id: "u1"), name(s))
            XCTAssertEqual(try listing(s), ["k  latest", "k a"], name(s))
            XCTAssertEqual(try s.object(bucket: "b", key: "k")?.generation, "p1")
        }
    }

    func testConditionalWritesTakeALatestMarkerAsNoObject() throws {
        for s in try stores() {
            let a = try put(s, "k", "a", at: 10)
            XCTAssertThrowsError(try s.putVersion(record("k", "x", at: 11), condition: .noneExists)) {
                XCTAssertEqual($0 as? StoreError, .preconditionFailed)
            }
            _ = try s.deleteVersion(bucket: "b", key: "k", versionId: nil, bypassGovernance: false, now: 12)
            XCTAssertThrowsError(try s.putVersion(record("k", "x", at: 13), condition: .etagMatches(a.etag))) {
                XCTAssertEqual($0 as? StoreError, .preconditionFailed)
            }
            XCTAssertEqual(try listing(s), ["k marker latest", "k a"], name(s))
            _ = try s.putVersion(record("k", "c", at: 14), condition: .noneExists)
            XCTAssertEqual(try listing(s), ["k c latest", "k marker", "k a"], name(s))
        }
    }

    // MARK: deletes

    func testADeleteAddsAMarkerThatHidesTheKey() throws {
        for s in try stores() {
            let a = try put(s, "k", "a", at: 10)
            let outcome = try s.deleteVersion(bucket: "b", key: "k", versionId: nil, bypassGovernance: false, now: 11)
            let marker = try XCTUnwrap(outcome.marker, name(s))
            XCTAssertNil(outcome.removed)
            XCTAssertTrue(marker.isDeleteMarker)
            XCTAssertTrue(VersionId.isWellFormed(marker.versionId) && marker.versionId != VersionId.null)
            XCTAssertNil(try s.object(bucket: "b", key: "k"), name(s))
            XCTAssertEqual(try s.listObjects(bucket: "b", query: ListQuery()).objects.count, 0)
            XCTAssertEqual(try s.latestVersion(bucket: "b", key: "k")?.versionId, marker.versionId)
            XCTAssertEqual(try s.version(bucket: "b", key: "k", versionId: a.versionId)?.noncurrentSince, 11)
            XCTAssertEqual(try listing(s), ["k marker latest", "k a"], name(s))
            // A second delete adds another marker; the first becomes noncurrent.
            _ = try s.deleteVersion(bucket: "b", key: "k", versionId: nil, bypassGovernance: false, now: 12)
            XCTAssertEqual(try listing(s), ["k marker latest", "k marker", "k a"], name(s))
            XCTAssertEqual(try s.version(bucket: "b", key: "k", versionId: marker.versionId)?.noncurrentSince, 12)
            XCTAssertEqual(try s.bucketUsage(bucket: "b").objects, 1, "markers are no objects")
            XCTAssertThrowsError(try s.deleteBucket(named: "b")) { XCTAssertEqual($0 as? StoreError, .bucketNotEmpty) }
        }
    }

    func testDeletingTheLatestVersionPromotesThePrevious() throws {
        for s in try stores() {
            let a = try put(s, "k", "a", at: 10)
            let b = try put(s, "k", "b", at: 11)
            let outcome = try s.deleteVersion(
                bucket: "b", key: "k", versionId: b.versionId, bypassGovernance: false, now: 12)
            XCTAssertEqual(outcome.removed?.versionId, b.versionId, name(s))
            XCTAssertNil(outcome.marker)
            let current = try XCTUnwrap(try s.object(bucket: "b", key: "k"), name(s))
            XCTAssertEqual(current.versionId, a.versionId)
            XCTAssertEqual(current.noncurrentSince, 0)
            XCTAssertEqual(try listing(s), ["k a latest"], name(s))
            // A noncurrent version goes without touching the latest.
            let c = try put(s, "k", "c", at: 13)
            _ = try s.deleteVersion(bucket: "b", key: "k", versionId: a.versionId, bypassGovernance: false, now: 14)
            XCTAssertEqual(try listing(s), ["k c latest"], name(s))
            XCTAssertEqual(try s.object(bucket: "b", key: "k")?.versionId, c.versionId)
            // The last version removed, the bucket can go.
            _ = try s.deleteVersion(bucket: "b", key: "k", versionId: c.versionId, bypassGovernance: false, now: 15)
            XCTAssertNil(try s.latestVersion(bucket: "b", key: "k"))
            try s.deleteBucket(named: "b")
        }
    }

    func testDeletingTheMarkerRestoresTheKey() throws {
        for s in try stores() {
            let a = try put(s, "k", "a", at: 10)
            let marker = try XCTUnwrap(
                try s.deleteVersion(bucket: "b", key: "k", versionId: nil, bypassGovernance: false, now: 11).marker)
            let outcome = try s.deleteVersion(
                bucket: "b", key: "k", versionId: marker.versionId, bypassGovernance: false, now: 12)
            XCTAssertEqual(outcome.removed?.isDeleteMarker, true, name(s))
            XCTAssertEqual(try s.object(bucket: "b", key: "k")?.versionId, a.versionId, name(s))
            XCTAssertEqual(try s.object(bucket: "b", key: "k")?.noncurrentSince, 0)
            XCTAssertEqual(try listing(s), ["k a latest"], name(s))
        }
    }

    func testAnUnknownVersionIdRemovesNothing() throws {
        for s in try stores() {
            try put(s, "k", "a", at: 10)
            let unknown = VersionId.make(after: "", now: 5)
            for id in [unknown, VersionId.null] {
                let outcome = try s.deleteVersion(
                    bucket: "b", key: "k", versionId: id, bypassGovernance: false, now: 11)
                XCTAssertEqual(outcome, DeleteOutcome(removed: nil, marker: nil), name(s))
            }
            XCTAssertEqual(try listing(s), ["k a latest"], name(s))
        }
    }

    func testASuspendedDeleteReplacesTheNullVersionWithANullMarker() throws {
        for s in try stores() {
            try put(s, "k", "a", at: 10)
            try s.setVersioning(bucket: "b", .suspended)
            try put(s, "k", "n", at: 11)
            let outcome = try s.deleteVersion(bucket: "b", key: "k", versionId: nil, bypassGovernance: false, now: 12)
            XCTAssertEqual(outcome.removed?.blob, "n", name(s))
            XCTAssertEqual(outcome.marker?.versionId, VersionId.null)
            XCTAssertEqual(try listing(s), ["k marker latest", "k a"], name(s))
            // a stopped being the latest when n was written.
            let a = try s.listVersions(bucket: "b", query: VersionListQuery()).entries[1].record
            XCTAssertEqual(a.noncurrentSince, 11, name(s))
            // Deleting the null marker by id brings a back.
            _ = try s.deleteVersion(bucket: "b", key: "k", versionId: "null", bypassGovernance: false, now: 13)
            XCTAssertEqual(try listing(s), ["k a latest"], name(s))
        }
    }

    // MARK: Object Lock

    func testLockedVersionsAreRefusedAndNothingChanges() throws {
        let future = 1_000.0
        for s in try stores() {
            var locks: [(String, ObjectRecord)] = []
            var v = record("k", "compliance", at: 10)
            v.retention = Retention(mode: .compliance, until: future)
            locks.append(("compliance", v))
            v = record("k", "hold", at: 11)
            v.legalHold = true
            locks.append(("hold", v))
            v = record("k", "governance", at: 12)
            v.retention = Retention(mode: .governance, until: future)
            locks.append(("governance", v))
            var ids: [String: String] = [:]
            for (label, v) in locks { ids[label] = try s.putVersion(v, condition: nil).stored.versionId }
            let before = try listing(s)
            for (label, _) in locks {
                XCTAssertThrowsError(
                    try s.deleteVersion(bucket: "b", key: "k", versionId: ids[label], bypassGovernance: false, now: 20),
                    label
                ) {
                    guard case .objectLocked = $0 as? StoreError else { return XCTFail("\(label): \($0)") }
                }
            }
            for label in ["compliance", "hold"] {
                XCTAssertThrowsError(
                    try s.deleteVersion(bucket: "b", key: "k", versionId: ids[label], bypassGovernance: true, now: 20))
            }
            XCTAssertEqual(try listing(s), before, name(s))
            // The bypass removes a GOVERNANCE version, and says so.
            let outcome = try s.deleteVersion(
                bucket: "b", key: "k", versionId: ids["governance"], bypassGovernance: true, now: 20)
            XCTAssertEqual(outcome.removed?.blob, "governance")
            let record = try XCTUnwrap(
                try s.auditRecords(AuditQuery(change: "object.delete")).last)
            XCTAssertTrue(record.detail.contains(#""bypass_governance":true"#), record.detail)
            // Once the date has passed, COMPLIANCE lets go too.
            _ = try s.deleteVersion(
                bucket: "b", key: "k", versionId: ids["compliance"], bypassGovernance: false, now: future + 1)
            XCTAssertEqual(try listing(s), ["k hold latest"], name(s))
        }
    }

    func testAnUnversionedWriteCannotReplaceALockedNullVersion() throws {
        for s in try stores(.unversioned) {
            var v = record("k", "a", at: 10)
            v.legalHold = true
            _ = try s.putVersion(v, condition: nil)
            XCTAssertThrowsError(try s.putVersion(record("k", "b", at: 11), condition: nil)) {
                guard case .objectLocked = $0 as? StoreError else { return XCTFail("\($0)") }
            }
            XCTAssertEqual(try listing(s), ["k a latest"], name(s))
        }
    }

    func testASuspendedDeleteOfALockedNullVersionChangesNothing() throws {
        for s in try stores(.suspended) {
            var v = record("k", "a", at: 10)
            v.legalHold = true
            _ = try s.putVersion(v, condition: nil)
            XCTAssertThrowsError(
                try s.deleteVersion(bucket: "b", key: "k", versionId: nil, bypassGovernance: true, now: 20)
            ) {
                guard case .objectLocked = $0 as? StoreError else { return XCTFail("\($0)") }
            }
            XCTAssertEqual(try listing(s), ["k a latest"], name(s))
        }
    }

    func testComplianceIsNeverShortenedAndMarkersGetNoLock() throws {
        for s in try stores() {
            try s.setObjectLock(bucket: "b", ObjectLockConfig())
            var v = record("k", "a", at: 10)
            v.retention = Retention(mode: .compliance, until: 100)
            let a = try s.putVersion(v, condition: nil).stored
            for r: Retention? in [
                nil, Retention(mode: .compliance, until: 50), Retention(mode: .governance, until: 200),
            ] {
                XCTAssertThrowsError(
                    try s.changeLock(
                        bucket: "b", key: "k", versionId: a.versionId, .retention(r), bypassGovernance: true, now: 20)
                ) {
                    guard case .objectLocked = $0 as? StoreError else { return XCTFail("\($0)") }
                }
            }
            XCTAssertEqual(try s.object(bucket: "b", key: "k")?.retention, v.retention, name(s))
            let marker = try XCTUnwrap(
                try s.deleteVersion(bucket: "b", key: "k", versionId: nil, bypassGovernance: false, now: 21).marker)
            XCTAssertThrowsError(
                try s.changeLock(
                    bucket: "b", key: "k", versionId: marker.versionId, .legalHold(true), bypassGovernance: false,
                    now: 22))
            XCTAssertEqual(try s.latestVersion(bucket: "b", key: "k")?.legalHold, false, name(s))
        }
    }

    func testTagsAndLockChangesOfOneVersion() throws {
        for s in try stores() {
            let a = try put(s, "k", "a", at: 10)
            try put(s, "k", "b", at: 11)
            try s.setVersionTags(bucket: "b", key: "k", versionId: a.versionId, tags: [Header("t", "1")])
            XCTAssertEqual(try s.version(bucket: "b", key: "k", versionId: a.versionId)?.tags, [Header("t", "1")])
            XCTAssertEqual(try s.object(bucket: "b", key: "k")?.tags, [])
            try s.setObjectTags(bucket: "b", key: "k", tags: [Header("u", "2")])
            XCTAssertEqual(try s.object(bucket: "b", key: "k")?.tags, [Header("u", "2")])
            XCTAssertThrowsError(
                try s.setVersionTags(bucket: "b", key: "k", versionId: VersionId.make(after: "", now: 1), tags: [])
            ) { XCTAssertEqual($0 as? StoreError, .noSuchVersion) }
            // Retention needs a bucket with Object Lock.
            let keep = LockChange.retention(Retention(mode: .governance, until: 100))
            XCTAssertThrowsError(
                try s.changeLock(
                    bucket: "b", key: "k", versionId: a.versionId, keep, bypassGovernance: false, now: 20)
            ) {
                guard case .invalidRequest = $0 as? StoreError else { return XCTFail("\($0)") }
            }
            try s.setObjectLock(bucket: "b", ObjectLockConfig())
            let locked = try s.changeLock(
                bucket: "b", key: "k", versionId: a.versionId, keep, bypassGovernance: false, now: 20)
            XCTAssertEqual(locked.retention, Retention(mode: .governance, until: 100))
            // Shortening GOVERNANCE needs the bypass.
            let shorter = LockChange.retention(Retention(mode: .governance, until: 50))
            XCTAssertThrowsError(
                try s.changeLock(
                    bucket: "b", key: "k", versionId: a.versionId, shorter, bypassGovernance: false, now: 20))
            _ = try s.changeLock(
                bucket: "b", key: "k", versionId: a.versionId, shorter, bypassGovernance: true, now: 20)
            XCTAssertEqual(try s.version(bucket: "b", key: "k", versionId: a.versionId)?.retention?.until, 50)
            let held = try s.changeLock(
                bucket: "b", key: "k", versionId: nil, .legalHold(true), bypassGovernance: false, now: 20)
            XCTAssertTrue(held.legalHold)
            XCTAssertEqual(try s.object(bucket: "b", key: "k")?.legalHold, true, name(s))
        }
    }

    // MARK: replication jobs

    func testAnEnabledOverwriteKeepsThePreviousVersionsReplicationJobs() throws {
        for s in try stores() {
            var a = record("k", "a", at: 10)
            a.replicas = [Replica(zone: "z2", backendBucket: "bb2")]
            _ = try s.putVersion(a, condition: nil)
            var b = record("k", "b", at: 11)
            b.replicas = [Replica(zone: "z2", backendBucket: "bb2")]
            _ = try s.putVersion(b, condition: nil)
            let jobs = try s.jobs(bucket: "b", key: "k", limit: 10)
            XCTAssertEqual(jobs.map(\.generation).sorted(), ["a", "b"], name(s))
            XCTAssertTrue(jobs.allSatisfy { $0.kind == .replicate })
        }
    }

    // MARK: listing

    /// Keys with several versions, markers, a null version and common prefixes.
    func fill(_ s: any MetadataStore) throws {
        try s.setVersioning(bucket: "b", .suspended)
        try put(s, "a/1", "n", at: 1)  // a null version, noncurrent below two others
        try s.setVersioning(bucket: "b", .enabled)
        var t = 2.0
        for key in ["a/1", "a/1", "a/2", "a/b/3", "b", "b", "c", "c/x", "d", "é", "z"] {
            try put(s, key, key + "@\(t)", at: t)
            t += 1
        }
        for key in ["b", "d", "gone"] {
            _ = try s.deleteVersion(bucket: "b", key: key, versionId: nil, bypassGovernance: false, now: t)
            t += 1
        }
        try put(s, "d", "d-again", at: t)
    }

    /// boto3's `object_versions.delete()` and Terraform's `force_destroy` delete each page before
    /// asking for the next one, after the version they just deleted: the listing goes on from
    /// where that version was, and every version is met exactly once.
    func testDeletingEachPageWhileListingEmptiesTheBucket() throws {
        for s in try stores() {
            for (i, key) in ["a", "a", "a", "b", "b", "c"].enumerated() {
                try put(s, key, "\(key)\(i)", at: Double(10 + i))
            }
            try s.setVersioning(bucket: "b", .suspended)
            try put(s, "a", "a-null", at: 20)  // the newest of a, id "null"
            _ = try s.deleteVersion(bucket: "b", key: "c", versionId: nil, bypassGovernance: false, now: 21)
            var query = VersionListQuery(maxKeys: 2)
            var met: [String] = []
            for _ in 0..<20 {
                let page = try s.listVersions(bucket: "b", query: query)
                for e in page.entries {
                    met.append("\(e.record.key) \(e.record.versionId)")
                    _ = try s.deleteVersion(
                        bucket: "b", key: e.record.key, versionId: e.record.versionId, bypassGovernance: false, now: 30)
                }
                guard page.isTruncated else { break }
                query.keyMarker = page.nextKeyMarker ?? ""
                query.versionIdMarker = page.nextVersionIdMarker ?? ""
            }
            XCTAssertEqual(met.count, 8, "\(name(s)): \(met)")
            XCTAssertEqual(Set(met).count, 8, name(s))
            XCTAssertEqual(try listing(s), [], name(s))
            XCTAssertNoThrow(try s.deleteBucket(named: "b"), name(s))
        }
    }

    func testListingPagesAddUpToTheWholeListingAtEveryPageSize() throws {
        for s in try stores(.unversioned) {
            try fill(s)
            XCTAssertEqual(
                try listing(s).prefix(4), ["a/1 a/1@3.0 latest", "a/1 a/1@2.0", "a/1 n", "a/2 a/2@4.0 latest"], name(s))
            for (prefix, delimiter) in [("", nil), ("", "/"), ("a/", "/"), ("a", nil), ("c", "/"), ("q", nil)] {
                let whole = try s.listVersions(
                    bucket: "b", query: VersionListQuery(prefix: prefix, delimiter: delimiter))
                XCTAssertFalse(whole.isTruncated)
                let total = whole.entries.count + whole.commonPrefixes.count
                for maxKeys in 1...max(1, total + 1) {
                    var entries: [VersionEntry] = []
                    var prefixes: [String] = []
                    var query = VersionListQuery(prefix: prefix, delimiter: delimiter, maxKeys: maxKeys)
                    var pages = 0
                    while true {
                        let page = try s.listVersions(bucket: "b", query: query)
                        XCTAssertLessThanOrEqual(page.entries.count + page.commonPrefixes.count, maxKeys)
                        entries += page.entries
                        prefixes += page.commonPrefixes
                        pages += 1
                        guard page.isTruncated, pages < 100 else { break }
                        query.keyMarker = try XCTUnwrap(page.nextKeyMarker)
                        query.versionIdMarker = page.nextVersionIdMarker ?? ""
                    }
                    let label = "\(name(s)) prefix \(prefix) delimiter \(delimiter ?? "-") max \(maxKeys)"
                    // Compared as short lines: a failure stays readable.
                    func lines(_ e: [VersionEntry]) -> [String] {
                        e.map { "\($0.record.key) \($0.record.versionId) \($0.isLatest) \($0.record.noncurrentSince)" }
                    }
                    XCTAssertEqual(lines(entries), lines(whole.entries), label)
                    XCTAssertEqual(prefixes, whole.commonPrefixes, label)
                }
            }
            let cps = try s.listVersions(bucket: "b", query: VersionListQuery(delimiter: "/"))
            XCTAssertEqual(cps.commonPrefixes, ["a/", "c/"], name(s))
            XCTAssertEqual(Set(cps.entries.map(\.record.key)), ["b", "c", "d", "gone", "z", "é"])
            // Exactly one latest entry per key.
            let all = try s.listVersions(bucket: "b", query: VersionListQuery())
            XCTAssertEqual(
                all.entries.filter(\.isLatest).map(\.record.key),
                ["a/1", "a/2", "a/b/3", "b", "c", "c/x", "d", "gone", "z", "é"])
            // The "null" version marker: the older versions of a/1 come next.
            let after = try s.listVersions(
                bucket: "b", query: VersionListQuery(keyMarker: "a/1", versionIdMarker: "null", maxKeys: 1))
            XCTAssertEqual(after.entries.map(\.record.key), ["a/2"], name(s))
            // An id the key does not have is a position: nothing of a/2 is older than 1 µs.
            let unknown = try s.listVersions(
                bucket: "b",
                query: VersionListQuery(
                    keyMarker: "a/2", versionIdMarker: VersionId.make(after: "", now: 1), maxKeys: 1))
            XCTAssertEqual(unknown.entries.map(\.record.key), ["a/b/3"], name(s))
            XCTAssertThrowsError(
                try s.listVersions(bucket: "b", query: VersionListQuery(keyMarker: "a/2", versionIdMarker: "../x"))
            ) { XCTAssertEqual($0 as? StoreError, .noSuchVersion) }
            // A key marker alone starts after that key.
            let next = try s.listVersions(bucket: "b", query: VersionListQuery(keyMarker: "c", maxKeys: 1))
            XCTAssertEqual(next.entries.map(\.record.key), ["c/x"])
            XCTAssertTrue(next.entries[0].isLatest)
        }
    }

    // MARK: migration 20

    func testRowsFromBeforeVersioningAreNullVersionsThatAnEnabledWriteDemotes() throws {
        do {
            let store = try sqlStore(dir: fixture.dir)
            _ = try store.createBucket(Self.bucket)
            _ = try store.putObject(record("k", "old", at: 10))
            _ = try store.putObject(record("j", "other", at: 10))
        }
        do {
            let db = try sqlConnection(dir: fixture.dir)
            try MigrationUndo.undo20(db)
        }
        let store = try sqlStore(dir: fixture.dir)
        let old = try XCTUnwrap(try store.object(bucket: "b", key: "k"))
        XCTAssertEqual(old.versionId, VersionId.null)
        XCTAssertEqual(old.versionSeq, "")
        XCTAssertEqual(try store.version(bucket: "b", key: "k", versionId: "null")?.blob, "old")
        try store.setVersioning(bucket: "b", .enabled)
        let new = try store.putVersion(record("k", "new", at: 11), condition: nil)
        XCTAssertNil(new.removed)
        XCTAssertEqual(try listing(store), ["j other latest", "k new latest", "k old"])
        let demoted = try XCTUnwrap(try store.version(bucket: "b", key: "k", versionId: "null"))
        XCTAssertEqual(demoted.versionSeq, "")
        XCTAssertEqual(demoted.noncurrentSince, 11)
        // Removing the new version brings the old row back as the object.
        _ = try store.deleteVersion(
            bucket: "b", key: "k", versionId: new.stored.versionId, bypassGovernance: false, now: 12)
        XCTAssertEqual(try store.object(bucket: "b", key: "k")?.blob, "old")
    }
}
