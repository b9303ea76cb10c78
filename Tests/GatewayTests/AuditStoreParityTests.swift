import Foundation
import GatewayCore
import GatewayTesting
import MetadataSQL
import SigV4
import XCTest

@testable import Gateway

/// The in-memory double must append the same records as the SQLite store (handler tests trust
/// it): one sequence of changes through both, the records compared field by field (all but the
/// time and the hashes that cover it).
final class AuditStoreParityTests: XCTestCase {
    typealias Store = MetadataStore & AuditStore

    func drive(_ m: any Store, _ ids: any IdentityStore) throws {
        let z = ["z1", "z2"]
        _ = try m.createBucket(
            BucketRecord(
                name: "b", owner: "o", createdAt: 1, locationConstraint: "c", zones: z, backendBucket: "bb",
                replicaCount: 2))
        _ = try m.createBucket(
            BucketRecord(
                name: "e", owner: "o", createdAt: 1, locationConstraint: "", zones: ["z1"], backendBucket: "ee"))
        for key in ["k1", "k2", "k3"] {
            var o = ObjectRecord(
                bucket: "b", key: key, size: 3, etag: "e-\(key)", lastModified: 1, contentType: "t",
                headers: [Header("x-amz-meta-a", "v")], checksums: [:], zone: "z1", blob: "blob-\(key)")
            o.replicas = [Replica(zone: "z2", backendBucket: "bb")]
            _ = try m.putObject(o, condition: nil)
        }
        try m.setObjectTags(bucket: "b", key: "k1", tags: [Header("t2", "v"), Header("t1", "v")])
        try m.setBucketTags(bucket: "b", tags: [Header("bt", "v")])
        // Replication jobs dead, then retried (ids in order) and one cancelled.
        let jobs = try m.claimJobs(owner: "w", now: 2, lease: 60, limit: 10)
        guard jobs.count == 3 else { return XCTFail("jobs: \(jobs.count)") }
        for j in jobs.reversed() { try m.failJob(id: j.id, owner: "w", error: "x", retryAt: nil, now: 3) }
        XCTAssertEqual(try m.retryJobs(ids: nil, now: 4), 3)
        XCTAssertTrue(try m.cancelJob(id: jobs[0].id))
        try m.createUpload(
            UploadRecord(
                uploadId: "u1", bucket: "b", key: "mp", initiated: 1, contentType: "t", headers: [],
                checksumAlgorithm: "", zone: "z1"))
        _ = try m.putPart(
            PartRecord(uploadId: "u1", partNumber: 1, size: 3, etag: "pe", lastModified: 1, checksums: [:], blob: "p1"))
        var done = ObjectRecord(
            bucket: "b", key: "mp", size: 3, etag: "me-1", lastModified: 2, contentType: "t", headers: [],
            checksums: [:], zone: "z1", blob: "")
        done.parts = [BlobPart(blob: "p1", size: 3)]
        _ = try m.completeUpload("u1", object: done, condition: nil)
        try m.createUpload(
            UploadRecord(
                uploadId: "u2", bucket: "b", key: "gone", initiated: 1, contentType: "t", headers: [],
                checksumAlgorithm: "", zone: "z2"))
        _ = try m.abortUpload("u2")
        try m.setReplicaCount(bucket: "b", count: 1)
        try m.setBucketOwner(bucket: "b", owner: "o2")
        try m.setBucketZones(bucket: "b", zones: ["z2", "z1"])
        _ = try m.deleteObject(bucket: "b", key: "k2", now: 5)
        try m.createUpload(
            UploadRecord(
                uploadId: "u3", bucket: "e", key: "left", initiated: 1, contentType: "t", headers: [],
                checksumAlgorithm: "", zone: "z1"))
        try m.deleteBucket(named: "e")
        try driveVersions(m)
        try ids.createTenant(TenantRecord(id: "acme", displayName: "Acme", createdAt: 1))
        try ids.createUser(
            UserRecord(
                tenant: "acme", name: "alice", id: "cid", permissions: PermissionSet(["s3:*": ["*"]]), createdAt: 1))
        try ids.setPermissions(tenant: "acme", user: "alice", PermissionSet(["s3:GetObject": ["*"], "iam:*": ["*"]]))
        try ids.createCredential(
            CredentialRecord(
                accessKey: "AKIDA", tenant: "acme", user: "alice", sealedSecret: "v1:s", status: .active,
                createdAt: 1), maxKeysPerUser: 2)
        try ids.setCredentialStatus(accessKey: "AKIDA", .inactive)
        try ids.replaceSealedSecret(accessKey: "AKIDA", sealed: "v1:t")
        try ids.deleteCredential(accessKey: "AKIDA")
        try ids.createCredential(
            CredentialRecord(
                accessKey: "AKIDB", tenant: "acme", user: "alice", sealedSecret: "v1:s", status: .active,
                createdAt: 1), maxKeysPerUser: 2)
        try ids.deleteUser(tenant: "acme", name: "alice")
        try ids.deleteTenant(id: "acme")
    }

    /// Versions, markers and their locks in bucket "v".
    func driveVersions(_ m: any Store) throws {
        _ = try m.createBucket(
            BucketRecord(
                name: "v", owner: "o", createdAt: 1, locationConstraint: "", zones: ["z1"], backendBucket: "vv"))
        try m.setVersioning(bucket: "v", .enabled)
        try m.setObjectLock(bucket: "v", ObjectLockConfig())
        func version(_ blob: String, at time: Double) throws -> ObjectRecord {
            try m.putVersion(
                ObjectRecord(
                    bucket: "v", key: "k", size: 1, etag: "e-\(blob)", lastModified: time, contentType: "t",
                    headers: [], checksums: [:], zone: "z1", blob: blob), condition: nil
            ).stored
        }
        let v1 = try version("v1", at: 6)
        let v2 = try version("v2", at: 6)
        let marker = try XCTUnwrap(
            try m.deleteVersion(bucket: "v", key: "k", versionId: nil, bypassGovernance: false, now: 6).marker)
        _ = try m.deleteVersion(bucket: "v", key: "k", versionId: marker.versionId, bypassGovernance: false, now: 6)
        try m.setVersionTags(bucket: "v", key: "k", versionId: v1.versionId, tags: [Header("t", "v")])
        _ = try m.changeLock(
            bucket: "v", key: "k", versionId: v2.versionId, .retention(Retention(mode: .governance, until: 100)),
            bypassGovernance: false, now: 6)
        _ = try m.changeLock(
            bucket: "v", key: "k", versionId: v1.versionId, .legalHold(true), bypassGovernance: false, now: 6)
        _ = try m.changeLock(
            bucket: "v", key: "k", versionId: v1.versionId, .legalHold(false), bypassGovernance: false, now: 6)
        _ = try m.deleteVersion(bucket: "v", key: "k", versionId: v2.versionId, bypassGovernance: true, now: 7)
        try m.createUpload(
            UploadRecord(
                uploadId: "u4", bucket: "v", key: "mp", initiated: 1, contentType: "t", headers: [],
                checksumAlgorithm: "", zone: "z1"))
        _ = try m.putPart(
            PartRecord(uploadId: "u4", partNumber: 1, size: 3, etag: "pe", lastModified: 1, checksums: [:], blob: "p4"))
        var done = ObjectRecord(
            bucket: "v", key: "mp", size: 3, etag: "me-1", lastModified: 8, contentType: "t", headers: [],
            checksums: [:], zone: "z1", blob: "")
        done.parts = [BlobPart(blob: "p4", size: 3)]
        _ = try m.completeUploadVersion("u4", object: done, condition: nil)
    }

    /// What drive() changes, one record each, in its order (a job's failure is bookkeeping).
    static let expectedChanges = [
        "bucket.create", "bucket.create", "object.put", "object.put", "object.put", "object.tags", "bucket.tags",
        "job.retry", "job.cancel", "upload.create", "upload.complete", "upload.create", "upload.abort",
        "bucket.replicas", "bucket.owner", "bucket.zones", "object.delete", "upload.create", "bucket.delete",
        "bucket.create", "bucket.versioning", "bucket.object-lock", "object.put", "object.put", "object.delete-marker",
        "object.delete", "object.tags", "object.retention", "object.legal-hold", "object.legal-hold", "object.delete",
        "upload.create", "upload.complete",
        "tenant.create", "user.create", "user.permissions", "credential.create", "credential.status",
        "credential.rotate", "credential.delete", "credential.create", "user.delete", "tenant.delete",
    ]

    func testTheInMemoryStoreAppendsTheSameRecordsAsSQLite() throws {
        let dir = NSTemporaryDirectory() + "s3gw-parity-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let sqlite = try sqlStore(dir: dir)
        let memory = InMemoryMetadataStore()
        try drive(sqlite, sqlite)
        try drive(memory, InMemoryIdentityStore(metadata: memory))
        // Version ids end in random digits: each store's are its own.
        let versionId = try NSRegularExpression(pattern: "[0-9a-f]{32}")
        func fields(_ r: AuditRecord) -> [String] {
            let detail = versionId.stringByReplacingMatches(
                in: r.detail, range: NSRange(r.detail.startIndex..., in: r.detail), withTemplate: "<version>")
            return [String(r.seq), r.origin, r.change, r.bucket, r.key, detail]
        }
        let a = try sqlite.auditRecords(AuditQuery(limit: 1000)).map(fields)
        let b = try memory.auditRecords(AuditQuery(limit: 1000)).map(fields)
        // Exactly the changes driven, in order: a record both stores drop fails here.
        XCTAssertEqual(a.map { $0[2] }, Self.expectedChanges)
        XCTAssertEqual(a.count, b.count)
        for (x, y) in zip(a, b) { XCTAssertEqual(x, y) }
        // The retried ids in order, however the queue listed them.
        let retry = try XCTUnwrap(try sqlite.auditRecords(AuditQuery(change: "job.retry")).first)
        XCTAssertTrue(retry.detail.hasSuffix(#","count":3}"#), retry.detail)
        // What a cascade removed is named: the user's keys, the bucket's unfinished uploads.
        XCTAssertEqual(
            try sqlite.auditRecords(AuditQuery(change: "user.delete")).first?.detail,
            #"{"tenant":"acme","user":"alice","access_key_ids":["AKIDB"],"access_key_count":1}"#)
        XCTAssertEqual(
            try sqlite.auditRecords(AuditQuery(bucket: "e", change: "bucket.delete")).first?.detail,
            #"{"uploads":["u3"],"upload_count":1}"#)
        // What each version change names.
        let v = try sqlite.auditRecords(AuditQuery(bucket: "v", limit: 100)).map { "\($0.change) \($0.detail)" }
        let expected = [
            #"object.delete-marker {"version_id":"<v>"}"#,
            #"object.delete {"version_id":"<v>","delete_marker":true}"#,
            #"object.tags {"tag_keys":["t"],"version_id":"<v>"}"#,
            #"object.retention {"version_id":"<v>","mode":"GOVERNANCE","retain_until":100,"bypass_governance":false}"#,
            #"object.legal-hold {"version_id":"<v>","status":"ON"}"#,
            #"object.delete {"etag":"e-v2","size":1,"zones":["z1"],"version_id":"<v>","lock_mode":"GOVERNANCE","retain_until":100,"bypass_governance":true}"#,
        ]
        let masked = v.map {
            versionId.stringByReplacingMatches(in: $0, range: NSRange($0.startIndex..., in: $0), withTemplate: "<v>")
        }
        for line in expected { XCTAssertTrue(masked.contains(line), "\(line) not in \(masked)") }
        XCTAssertTrue(
            masked.contains {
                $0.hasPrefix(#"upload.complete {"upload_id":"u4","#) && $0.hasSuffix(#""version_id":"<v>"}"#)
            },
            "\(masked)")
    }

    func testALongRetryListsTheFirstIdsAndTheCount() {
        let e = AuditEntry.jobRetry(ids: Array((1...250).reversed()))
        XCTAssertTrue(e.detail.hasPrefix(#"{"jobs":["1","2","3""#), e.detail)
        XCTAssertTrue(e.detail.contains(#""100"],"count":250}"#), e.detail)
    }
}
