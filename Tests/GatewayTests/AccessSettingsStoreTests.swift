import Foundation
import GatewayCore
import GatewayTesting
import XCTest

@testable import MetadataSQL

/// The settings of issue 13 in both stores: bucket settings, object ACLs and owners, encryption
/// envelopes (compare-and-set) and key-encryption keys, each audited in its transaction.
final class AccessSettingsStoreTests: XCTestCase {
    var fixture: TwoStores!

    override func setUpWithError() throws { fixture = try TwoStores("access") }
    override func tearDown() { fixture.remove() }

    static let bucket = BucketRecord(
        name: "b", owner: "o", createdAt: 1, locationConstraint: "", zones: ["z1"], backendBucket: "bb")

    func record(_ key: String, _ blob: String, at time: Double) -> ObjectRecord {
        var o = ObjectRecord(
            bucket: "b", key: key, size: Int64(blob.utf8.count), etag: "e-\(blob)", lastModified: time,
            contentType: "t", headers: [], checksums: [:], zone: "z1", blob: blob)
        o.owner = "writer-\(blob)"
        o.acl = "acl-\(blob)"
        o.sse = "sse-\(blob)"
        return o
    }

    func changes(_ s: any MetadataStore) throws -> [String] {
        try s.auditRecords(AuditQuery()).map(\.change).filter { $0.hasPrefix("test.") }
    }

    func testEveryBucketSettingIsStoredReadBackAndAudited() throws {
        for s in try fixture.stores(with: Self.bucket) {
            for setting in BucketSetting.allCases {
                try s.setBucketSetting(
                    bucket: "b", setting, "value of \(setting)", audit: AuditEntry("test.\(setting)", bucket: "b"))
            }
            for b in [try s.bucket(named: "b"), try s.bucketAndObject(bucket: "b", key: "none")?.0] {
                let b = try XCTUnwrap(b)
                XCTAssertEqual(
                    [b.policy, b.acl, b.ownership, b.publicAccessBlock, b.cors, b.encryption],
                    BucketSetting.allCases.map { "value of \($0)" })
            }
            XCTAssertEqual(try changes(s), BucketSetting.allCases.map { "test.\($0)" })
            try s.setBucketSetting(bucket: "b", .policy, "", audit: AuditEntry("test.remove", bucket: "b"))
            XCTAssertEqual(try s.bucket(named: "b")?.policy, "")
            XCTAssertThrowsError(
                try s.setBucketSetting(bucket: "gone", .cors, "x", audit: AuditEntry("test.gone", bucket: "gone"))
            ) { XCTAssertEqual($0 as? StoreError, .noSuchBucket) }
            XCTAssertFalse(try changes(s).contains("test.gone"), "a failed change leaves no record")
        }
    }

    func testObjectOwnerACLAndEnvelopeTravelWithEveryVersion() throws {
        for s in try fixture.stores(with: Self.bucket) {
            try s.setVersioning(bucket: "b", .enabled)
            let v1 = try s.putVersion(record("k", "one", at: 10), condition: nil).stored
            _ = try s.putVersion(record("k", "two", at: 11), condition: nil)
            let latest = try XCTUnwrap(try s.object(bucket: "b", key: "k"))
            XCTAssertEqual([latest.owner, latest.acl, latest.sse], ["writer-two", "acl-two", "sse-two"])
            XCTAssertEqual(try s.bucketAndObject(bucket: "b", key: "k")?.1?.sse, "sse-two")
            let old = try XCTUnwrap(try s.version(bucket: "b", key: "k", versionId: v1.versionId))
            XCTAssertEqual([old.owner, old.acl, old.sse], ["writer-one", "acl-one", "sse-one"])

            try s.setObjectACL(
                bucket: "b", key: "k", versionId: v1.versionId, owner: "new-owner", acl: "acl-1b",
                audit: AuditEntry("test.acl", bucket: "b", key: "k"))
            try s.setObjectACL(
                bucket: "b", key: "k", versionId: nil, owner: nil, acl: "acl-2b",
                audit: AuditEntry("test.acl-latest", bucket: "b", key: "k"))
            let changedOld = try XCTUnwrap(try s.version(bucket: "b", key: "k", versionId: v1.versionId))
            XCTAssertEqual([changedOld.owner, changedOld.acl], ["new-owner", "acl-1b"])
            let changedLatest = try XCTUnwrap(try s.object(bucket: "b", key: "k"))
            XCTAssertEqual([changedLatest.owner, changedLatest.acl], ["writer-two", "acl-2b"])
            XCTAssertThrowsError(
                try s.setObjectACL(
                    bucket: "b", key: "gone", versionId: nil, owner: nil, acl: "",
                    audit: AuditEntry("test.gone", bucket: "b"))
            ) { XCTAssertEqual($0 as? StoreError, .noSuchKey) }
            XCTAssertThrowsError(
                try s.setObjectACL(
                    bucket: "b", key: "k", versionId: VersionId.make(after: "", now: 99), owner: nil, acl: "",
                    audit: AuditEntry("test.gone", bucket: "b"))
            ) { XCTAssertEqual($0 as? StoreError, .noSuchVersion) }
            XCTAssertEqual(try changes(s), ["test.acl", "test.acl-latest"])
        }
    }

    func testEnvelopeReplacementIsACompareAndSet() throws {
        for s in try fixture.stores(with: Self.bucket) {
            try s.setVersioning(bucket: "b", .enabled)
            let v1 = try s.putVersion(record("k", "one", at: 10), condition: nil).stored
            let v2 = try s.putVersion(record("k", "two", at: 11), condition: nil).stored
            XCTAssertTrue(try s.replaceSSE(bucket: "b", key: "k", versionSeq: v1.versionSeq, from: "sse-one", to: "r1"))
            XCTAssertFalse(
                try s.replaceSSE(bucket: "b", key: "k", versionSeq: v1.versionSeq, from: "sse-one", to: "r2"),
                "a stale envelope is not replaced")
            XCTAssertTrue(try s.replaceSSE(bucket: "b", key: "k", versionSeq: v2.versionSeq, from: "sse-two", to: "r3"))
            XCTAssertFalse(try s.replaceSSE(bucket: "b", key: "k", versionSeq: "nope", from: "", to: "r4"))
            XCTAssertEqual(try s.version(bucket: "b", key: "k", versionId: v1.versionId)?.sse, "r1")
            XCTAssertEqual(try s.object(bucket: "b", key: "k")?.sse, "r3")
        }
    }

    func testUploadsKeepOwnerACLAndEnvelope() throws {
        for s in try fixture.stores(with: Self.bucket) {
            var u = UploadRecord(
                uploadId: "u1", bucket: "b", key: "k", initiated: 1, contentType: "t", headers: [],
                checksumAlgorithm: "", zone: "z1")
            u.owner = "w"
            u.acl = "a"
            u.sse = "e"
            try s.createUpload(u)
            XCTAssertEqual(try s.upload(id: "u1"), u)
        }
    }

    func testKeysAreUniquePerAliasAndOneSSES3KeyPerTenant() throws {
        for s in try fixture.stores(with: Self.bucket) {
            let audit = AuditEntry("test.key")
            let a = KMSKeyRecord(id: "k1", tenant: "t", alias: "app", kind: "kms", createdAt: 1, versions: "[]")
            try s.putKMSKey(a, audit: audit)
            try s.putKMSKey(
                KMSKeyRecord(id: "k2", tenant: "u", alias: "app", kind: "kms", createdAt: 2, versions: "[]"),
                audit: audit)
            XCTAssertThrowsError(
                try s.putKMSKey(
                    KMSKeyRecord(id: "k3", tenant: "t", alias: "app", kind: "kms", createdAt: 3, versions: "[]"),
                    audit: audit)
            ) { guard case .entityExists = $0 as? StoreError else { return XCTFail("\($0)") } }
            try s.putKMSKey(
                KMSKeyRecord(id: "s1", tenant: "t", kind: "sse-s3", createdAt: 4, versions: "[]"), audit: audit)
            XCTAssertThrowsError(
                try s.putKMSKey(
                    KMSKeyRecord(id: "s2", tenant: "t", kind: "sse-s3", createdAt: 5, versions: "[]"), audit: audit)
            ) { guard case .entityExists = $0 as? StoreError else { return XCTFail("\($0)") } }
            var changed = a
            changed.state = "Disabled"
            changed.versions = "[1]"
            try s.putKMSKey(changed, audit: audit)
            XCTAssertEqual(try s.kmsKey(id: "k1"), changed)
            XCTAssertNil(try s.kmsKey(id: "k3"))
            XCTAssertEqual(try s.kmsKeys(tenant: "t").map(\.id), ["k1", "s1"])
            XCTAssertEqual(try s.kmsKeys(tenant: nil).map(\.id), ["k1", "k2", "s1"])
            XCTAssertEqual(try changes(s), ["test.key", "test.key", "test.key", "test.key"])
        }
    }

    func testRowsFromBeforeTheMigrationReadAsUnset() throws {
        do {
            let store = try sqlStore(dir: fixture.dir)
            _ = try store.createBucket(Self.bucket)
            _ = try store.putObject(
                ObjectRecord(
                    bucket: "b", key: "k", size: 1, etag: "e", lastModified: 1, contentType: "t", headers: [],
                    checksums: [:], zone: "z1", blob: "x"))
        }
        do { try MigrationUndo.undo22(try sqlConnection(dir: fixture.dir)) }
        let store = try sqlStore(dir: fixture.dir)
        let b = try XCTUnwrap(try store.bucket(named: "b"))
        XCTAssertEqual(
            [b.policy, b.acl, b.ownership, b.publicAccessBlock, b.cors, b.encryption], Array(repeating: "", count: 6))
        let o = try XCTUnwrap(try store.object(bucket: "b", key: "k"))
        XCTAssertEqual([o.owner, o.acl, o.sse], ["", "", ""])
        XCTAssertEqual(try store.kmsKeys(tenant: nil), [])
    }
}
