import Foundation
import GatewayCore
import GatewayTesting
import MetadataSQL
import SigV4
import XCTest

@testable import Gateway

/// The SQLite store's audit chain: each change's record is committed with it (a change that
/// fails leaves none), records of concurrent writers form one gapless chain, and the verifier
/// over the store names what was done to its rows.
final class AuditStoreTests: XCTestCase {
    var dir = ""
    var store: SQLMetadataStore!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "s3gw-audit-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        store = try sqlStore(dir: dir)
        _ = try store.createBucket(
            BucketRecord(name: "b", owner: "o", createdAt: 1, locationConstraint: "", zones: ["z"], backendBucket: "bb")
        )
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func object(_ key: String, etag: String = "e") -> ObjectRecord {
        ObjectRecord(
            bucket: "b", key: key, size: 3, etag: etag, lastModified: 1, contentType: "t",
            headers: [Header("x-amz-meta-secret", "metadata value")], checksums: [:], zone: "z", blob: "ab12")
    }

    var all: [AuditRecord] { try! store.auditRecords(AuditQuery(limit: 10_000)) }

    func testEachChangeAppendsItsRecordWithTheTracesActor() throws {
        let trace = RequestTrace(requestId: "req-1", origin: .s3, started: 0)
        trace.tenant = "default"
        trace.accessKey = "AKID1"
        trace.operation = "PutObject"
        trace.clientAddress = "10.0.0.1"
        try trace.run { () throws(StoreError) in _ = try store.putObject(object("k")) }
        try store.setObjectTags(bucket: "b", key: "k", tags: [Header("class", "customer value")])
        XCTAssertEqual(all.map(\.change), ["bucket.create", "object.put", "object.tags"])
        let put = all[1]
        XCTAssertEqual(
            [put.requestId, put.origin, put.tenant, put.accessKey, put.operation, put.clientIP, put.bucket, put.key],
            ["req-1", "s3", "default", "AKID1", "PutObject", "10.0.0.1", "b", "k"])
        XCTAssertEqual(put.detail, #"{"etag":"e","size":3,"zones":["z"]}"#)
        // Outside any trace: the gateway itself, unattributed.
        XCTAssertEqual(all[2].origin, "system")
        XCTAssertEqual(all[2].detail, #"{"tag_keys":["class"]}"#)
        XCTAssertFalse(all.contains { $0.detail.contains("value") })
        XCTAssertNil(AuditChainTestsSupport.verify(all))
    }

    func testAStoreWithTheChainOffRecordsNothing() throws {
        let off = try sqlStore(dir: dir, audits: false)
        let before = all.count
        _ = try off.putObject(object("quiet"))
        try off.setObjectTags(bucket: "b", key: "quiet", tags: [Header("k", "v")])
        XCTAssertEqual(try off.object(bucket: "b", key: "quiet")?.etag, "e")
        XCTAssertEqual(all.count, before)
        // The same database through a store with the chain on records again, chained on.
        _ = try store.putObject(object("loud"))
        XCTAssertEqual(all.count, before + 1)
        XCTAssertNil(AuditChainTestsSupport.verify(all))
    }

    func testAFailedChangeLeavesNoRecord() throws {
        _ = try store.putObject(object("k"))
        let before = all.count
        // A conditional put that loses, a delete of a non-empty bucket, tags of a missing key,
        // a delete of a missing key: nothing changed, nothing recorded.
        XCTAssertThrowsError(try store.putObject(object("k", etag: "x"), condition: .noneExists))
        XCTAssertThrowsError(try store.deleteBucket(named: "b"))
        XCTAssertThrowsError(try store.setObjectTags(bucket: "b", key: "missing", tags: []))
        XCTAssertThrowsError(try store.setReplicaCount(bucket: "missing", count: 2))
        XCTAssertNil(try store.deleteObject(bucket: "b", key: "missing", now: 1))
        XCTAssertEqual(all.count, before)
        XCTAssertEqual(try store.object(bucket: "b", key: "k")?.etag, "e")
    }

    func testAChangeWhoseRecordCannotBeWrittenIsNotMade() throws {
        _ = try store.putObject(object("k"))
        try store.createTenant(TenantRecord(id: "acme", displayName: "Acme", createdAt: 1))
        try store.createUser(
            UserRecord(
                tenant: "acme", name: "alice", id: "cid", permissions: PermissionSet(["s3:*": ["*"]]), createdAt: 1))
        _ = try store.createBucket(
            BucketRecord(
                name: "empty", owner: "o", createdAt: 1, locationConstraint: "", zones: ["z"], backendBucket: "e"))
        let before = all.count
        // The record is written inside the change's transaction: when it cannot be, the change
        // rolls back with it ("no change without its record").
        if storeTestsOnPostgres {
            try sql(
                """
                CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'x'; END $$;
                CREATE TRIGGER refuse BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse()
                """)
        } else {
            try sql("CREATE TRIGGER refuse BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'x'); END")
        }
        XCTAssertThrowsError(try store.putObject(object("k", etag: "new")))
        XCTAssertThrowsError(try store.putObject(object("k2")))
        XCTAssertThrowsError(try store.deleteBucket(named: "empty"))
        XCTAssertThrowsError(try store.setObjectTags(bucket: "b", key: "k", tags: [Header("t", "v")]))
        XCTAssertThrowsError(
            try store.createCredential(
                CredentialRecord(
                    accessKey: "AKIDREFUSED", tenant: "acme", user: "alice", sealedSecret: "v1:s", status: .active,
                    createdAt: 1), maxKeysPerUser: 2))
        XCTAssertThrowsError(try store.setBucketZones(bucket: "b", zones: ["z", "z2"]))
        try sql(storeTestsOnPostgres ? "DROP TRIGGER refuse ON audit_log" : "DROP TRIGGER refuse")
        XCTAssertEqual(all.count, before)
        XCTAssertEqual(try store.object(bucket: "b", key: "k")?.etag, "e")
        XCTAssertNil(try store.object(bucket: "b", key: "k2"))
        XCTAssertNotNil(try store.bucket(named: "empty"))
        XCTAssertEqual(try store.object(bucket: "b", key: "k")?.tags ?? [], [])
        XCTAssertNil(try store.credential(accessKey: "AKIDREFUSED"))
        XCTAssertEqual(try store.bucket(named: "b")?.zones, ["z"])
        XCTAssertTrue(try AuditVerification.run(store: store).ok)
    }

    func testARecordHoldingANulByteReadsBackAsHashed() throws {
        // A client can put `%00` in a key; bound or read up to the NUL, the stored record
        // would no longer be the one hashed and verification would fail forever.
        try store.appendAudit(
            AuditEntry("auth.failure", bucket: "b", key: "a\u{0}b", detail: [("x", .string("c\u{0}d"))]))
        let r = try XCTUnwrap(all.last)
        XCTAssertEqual(r.key, "a\u{0}b")
        XCTAssertEqual(r.computedHash(sha256Hex), r.hash)
        XCTAssertTrue(try AuditVerification.run(store: store).ok)
    }

    func testIdentityChangesNameAccessKeysNeverSecrets() throws {
        try store.createTenant(TenantRecord(id: "acme", displayName: "Acme", createdAt: 1))
        try store.createUser(
            UserRecord(
                tenant: "acme", name: "alice", id: "cid", permissions: PermissionSet(["s3:*": ["*"]]), createdAt: 1))
        try store.createCredential(
            CredentialRecord(
                accessKey: "AKIDALICE", tenant: "acme", user: "alice", sealedSecret: "v1:sealed-secret-bytes",
                status: .active, createdAt: 1), maxKeysPerUser: 2)
        try store.replaceSealedSecret(accessKey: "AKIDALICE", sealed: "v1:other-sealed-bytes")
        try store.deleteCredential(accessKey: "AKIDALICE")
        let ids = all.suffix(5)
        XCTAssertEqual(
            ids.map(\.change),
            ["tenant.create", "user.create", "credential.create", "credential.rotate", "credential.delete"])
        XCTAssertTrue(ids.allSatisfy { !$0.detail.contains("sealed") })
        XCTAssertTrue(ids.dropFirst(2).allSatisfy { $0.detail.contains("AKIDALICE") })
    }

    func testConcurrentWritersFormOneChain() throws {
        // Two stores (two processes' worth of connections) and several threads each.
        let other = try sqlStore(dir: dir)
        let group = DispatchGroup()
        let stores: [SQLMetadataStore] = [store, other]
        let objects = (0..<8).map { t in (0..<25).map { i in object("t\(t)-\(i)") } }
        for t in 0..<8 {
            DispatchQueue.global().async(group: group) {
                for o in objects[t] { _ = try! stores[t % 2].putObject(o) }
            }
        }
        group.wait()
        let records = all
        XCTAssertEqual(records.count, 1 + 200)
        XCTAssertEqual(records.map(\.seq), Array(1...201))
        XCTAssertNil(AuditChainTestsSupport.verify(records))
    }

    func testVerificationOverTheStoreNamesTamperedRows() throws {
        for i in 0..<5 { _ = try store.putObject(object("k\(i)")) }
        XCTAssertTrue(try AuditVerification.run(store: store, pageSize: 2).ok)
        try sql("UPDATE audit_log SET key = 'other' WHERE seq = 3")
        var report = try AuditVerification.run(store: store, pageSize: 2)
        XCTAssertEqual(report.problem?.kind, "altered")
        XCTAssertEqual(report.problem?.seq, 3)
        try sql("DELETE FROM audit_log WHERE seq = 3")
        report = try AuditVerification.run(store: store, pageSize: 2)
        XCTAssertEqual(report.problem?.kind, "deleted")
        XCTAssertEqual(report.problem?.seq, 3)
        XCTAssertEqual(report.recordsChecked, 2)
        // From after the gap, trusting record 3: it is gone, so that is what is named.
        report = try AuditVerification.run(store: store, from: 4)
        XCTAssertEqual(report.problem?.seq, 3)
        report = try AuditVerification.run(store: store, from: 5)
        XCTAssertTrue(report.ok)
        XCTAssertEqual(report.firstSeq, 5)
    }

    func testADistantSwapAcrossPagesIsNamed() throws {
        for i in 0..<8 { _ = try store.putObject(object("k\(i)")) }
        try sql(
            "UPDATE audit_log SET seq = -1 WHERE seq = 2; UPDATE audit_log SET seq = 2 WHERE seq = 7; "
                + "UPDATE audit_log SET seq = 7 WHERE seq = -1")
        let report = try AuditVerification.run(store: store, pageSize: 2)
        XCTAssertEqual(report.problem?.message, "records 2 and 7 reordered (swapped)")
    }

    /// As a tamperer would: straight into the database, behind the store's back.
    func sql(_ text: String) throws { try sqlConnection(dir: dir).exec(text) }
}

enum AuditChainTestsSupport {
    static func verify(_ records: [AuditRecord]) -> AuditProblem? {
        var v = AuditChainVerifier(sha256Hex: sha256Hex)
        for (i, r) in records.enumerated() {
            if let p = v.check(r, ahead: records[(i + 1)...]) { return p }
        }
        return nil
    }
}
