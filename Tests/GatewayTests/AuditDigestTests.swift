import Foundation
import GatewayCore
import GatewayTesting
import SigV4
import XCTest

@testable import Gateway

/// Digests: one per period however many agents race, chained by hash and signature, written to
/// a digest zone and read back; a cut tail, a forged or removed digest and a foreign key are
/// named.
final class AuditDigestTests: XCTestCase {
    let key = Ed25519Key(seed: Array(repeating: 3, count: 32))!

    func digests(_ store: InMemoryMetadataStore, zone: InMemoryZone? = nil, minutes: Double = 1) -> AuditDigests {
        var settings = AuditSettings()
        settings.digestInterval = minutes
        if zone != nil {
            settings.digestZone = "z"
            settings.digestBucket = "digests"
        }
        return AuditDigests(store: store, key: key, settings: settings, zone: zone)
    }

    func testEd25519SignsAndVerifies() throws {
        // Printed or dumped, a key shows its fingerprint, never its seed.
        let seedHex = hexEncode(Array(repeating: 3, count: 32))
        for text in [
            String(describing: key), String(reflecting: key),
            {
                var o = ""
                dump(key, to: &o)
                return o
            }(),
        ] {
            XCTAssertFalse(text.contains(seedHex), text)
            XCTAssertTrue(text.contains(key.fingerprint), text)
        }
        let message = Array("s3gw".utf8)
        let sig = try key.sign(message)
        XCTAssertEqual(sig.count, 64)
        XCTAssertTrue(Ed25519Key.verify(signature: sig, message: message, publicKey: key.publicKey))
        var flipped = sig
        flipped[10] ^= 1
        XCTAssertFalse(Ed25519Key.verify(signature: flipped, message: message, publicKey: key.publicKey))
        XCTAssertFalse(Ed25519Key.verify(signature: sig, message: message + [0], publicKey: key.publicKey))
        XCTAssertFalse(Ed25519Key.verify(signature: sig, message: message, publicKey: Ed25519Key.generate().publicKey))
        // RFC 8032 §7.1 test 1: the public key of the all-zero-message key.
        let rfc = Ed25519Key(seed: hexDecode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")!)!
        XCTAssertEqual(hexEncode(rfc.publicKey), "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
        XCTAssertEqual(
            hexEncode(try rfc.sign([])),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        )
    }

    func testOneDigestPerPeriodChainedToTheLast() throws {
        let store = InMemoryMetadataStore()
        store.audit(AuditEntry("object.put", bucket: "b", key: "k"))
        let d = digests(store)
        let first = try XCTUnwrap(try d.run(now: 600.5))
        // Another agent in the same period adds nothing.
        XCTAssertNil(try digests(store).run(now: 630))
        XCTAssertEqual([first.periodEnd, first.firstSeq, first.lastSeq], [600_000, 1, 1])
        XCTAssertEqual(first.lastHash, try store.auditRecords(AuditQuery()).last?.hash)
        store.audit(AuditEntry("object.delete", bucket: "b", key: "k"))
        let second = try XCTUnwrap(try d.run(now: 661))
        XCTAssertEqual([second.firstSeq, second.lastSeq], [2, 2])
        XCTAssertEqual(second.previousDigestHash, first.hash(sha256Hex))
        XCTAssertEqual(second.previousDigestSignature, first.signature)
        // A quiet period still gets its digest (gaps in time are visible).
        let third = try XCTUnwrap(try d.run(now: 725))
        XCTAssertEqual([third.firstSeq, third.lastSeq], [3, 2])
        XCTAssertTrue(try AuditVerification.run(store: store).ok)
        XCTAssertEqual(try AuditVerification.run(store: store).digestsChecked, 3)
    }

    func testDigestFilesInTheZoneVerify() throws {
        let store = InMemoryMetadataStore()
        let zone = InMemoryZone(name: "z")
        store.audit(AuditEntry("bucket.create", bucket: "b"))
        try digests(store, zone: zone).run(now: 60)
        try digests(store, zone: zone).run(now: 120)
        XCTAssertEqual(try store.pendingAuditDigests().count, 0)
        let read = try AuditDigests.readFiles(zone: zone, bucket: "digests")
        XCTAssertEqual(read.digests.count, 2)
        XCTAssertEqual(
            read.digests,
            try store.auditDigests(after: 0, limit: 10, newest: false).map {
                var d = $0
                d.id = 0
                return d
            })
        let report = try AuditVerification.run(store: store, digests: read.digests, digestSource: "z/digests")
        XCTAssertTrue(report.ok, "\(report)")
        // The file's JSON carries CloudTrail's names and the signature.
        let text = String(decoding: read.digests[1].file, as: UTF8.self)
        XCTAssertTrue(text.contains(#""digestEndTime":"1970-01-01T00:02:00.000Z""#), text)
        XCTAssertTrue(text.contains(#""previousDigestSignature":""#) && text.contains(#""signature":""#))
    }

    func testTruncatedTailIsNamed() throws {
        let store = InMemoryMetadataStore()
        for i in 0..<5 { store.audit(AuditEntry("object.put", bucket: "b", key: "k\(i)")) }
        try digests(store).run(now: 60)
        store.withAuditRecords { $0.removeLast(2) }
        let report = try AuditVerification.run(store: store)
        XCTAssertEqual(report.problem?.kind, "truncated")
        XCTAssertEqual(report.problem?.seq, 4)
        XCTAssertEqual(
            report.problem?.message, "truncated: the chain ends at record 3, a signed digest names record 5")
    }

    func testARewrittenChainDoesNotMatchItsDigest() throws {
        // Whoever rewrites every hash after an edit keeps the chain consistent; the signed
        // digest still names the old hash.
        let store = InMemoryMetadataStore()
        for i in 0..<4 { store.audit(AuditEntry("object.put", bucket: "b", key: "k\(i)")) }
        try digests(store).run(now: 60)
        store.withAuditRecords { records in
            records[1].key = "innocent"
            for i in 1..<records.count {
                records[i].prevHash = records[i - 1].hash
                records[i].hash = records[i].computedHash(sha256Hex)
            }
        }
        let report = try AuditVerification.run(store: store)
        XCTAssertEqual(report.problem?.kind, "altered")
        XCTAssertEqual(report.problem?.seq, 4)
    }

    func testForgedRemovedAndForeignDigestsAreNamed() throws {
        let store = InMemoryMetadataStore()
        store.audit(AuditEntry("object.put", bucket: "b", key: "k"))
        for t in [60.0, 120, 180] { try digests(store).run(now: t) }
        var all = try store.auditDigests(after: 0, limit: 10, newest: false)
        var forged = all
        forged[1].lastSeq = 0
        XCTAssertEqual(try AuditVerification.run(store: store, digests: forged).problem?.kind, "bad-signature")
        forged = all
        forged.remove(at: 1)
        XCTAssertEqual(try AuditVerification.run(store: store, digests: forged).problem?.kind, "digest-chain-broken")
        // Re-signed by someone else's key: unknown to the key file the verifier trusts.
        let other = Ed25519Key.generate()
        all[2].publicKeyFingerprint = other.fingerprint
        all[2].signature = hexEncode(try other.sign(all[2].signedMessage(sha256Hex)))
        let trusted = [key.auditKey(created: 0)]
        XCTAssertEqual(
            try AuditVerification.run(store: store, digests: all, trustedKeys: trusted).problem?.kind, "unknown-key")
    }

    func testADigestSignedDuringTheWalkIsNotATruncation() throws {
        let store = InMemoryMetadataStore()
        for i in 0..<5 { store.audit(AuditEntry("object.put", bucket: "b", key: "k\(i)")) }
        let d = digests(store)
        _ = try d.run(now: 60)
        // While verify pages through the chain, the gateway appends and the agent signs.
        let running = WritingWhileRead(inner: store) {
            for i in 0..<3 { store.audit(AuditEntry("object.put", bucket: "b", key: "late\(i)")) }
            _ = try? d.run(now: 120)
        }
        let report = try AuditVerification.run(store: running, pageSize: 2)
        XCTAssertTrue(report.ok, "\(report.problem?.message ?? "")")
        XCTAssertEqual(report.digestsChecked, 1)
    }

    func testMissingOrUnreadableDigestFilesAreNamed() throws {
        let store = InMemoryMetadataStore()
        store.audit(AuditEntry("object.put", bucket: "b", key: "k"))
        let d = digests(store)
        let signed = [try XCTUnwrap(try d.run(now: 60)), try XCTUnwrap(try d.run(now: 120))]
        var report = try AuditVerification.run(store: store, digests: [], digestSource: "z/b", exportedDigests: 2)
        XCTAssertEqual(report.problem?.kind, "digest-missing")
        XCTAssertEqual(report.problem?.message, "digest files missing: the zone holds 0, the gateway wrote 2")
        report = try AuditVerification.run(
            store: store, digests: signed, digestSource: "z/b", unreadableFiles: ["junk"], exportedDigests: 2)
        XCTAssertEqual(report.problem?.kind, "digest-missing")
        report = try AuditVerification.run(store: store, digests: signed, digestSource: "z/b", exportedDigests: 2)
        XCTAssertTrue(report.ok, "\(report.problem?.message ?? "")")
    }

    func testTheKeyFileIsCreatedOnceAndNeverSilentlyReplaced() throws {
        let dir = NSTemporaryDirectory() + "s3gw-auditkey-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = InMemoryMetadataStore()
        let file = AuditKeyFile.path(dir)
        XCTAssertNil(try AuditKeyFile.load(stateDir: dir))
        // The first start: no key anywhere, one is made (0600) and its public half recorded.
        let key = try AuditKeyFile.register(stateDir: dir, store: store, now: 1)
        XCTAssertEqual(try store.auditKeys().map(\.fingerprint), [key.fingerprint])
        let mode = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int)
        XCTAssertEqual(mode, 0o600)
        XCTAssertEqual(try AuditKeyFile.register(stateDir: dir, store: store, now: 2).fingerprint, key.fingerprint)
        // Gone later: refused with what to do, not replaced by a new key.
        try FileManager.default.removeItem(atPath: file)
        XCTAssertThrowsError(try AuditKeyFile.loadOrCreate(stateDir: dir, store: store)) { error in
            XCTAssertTrue("\(error)".contains("restore the file"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: file))
        // A file others may read, or one that holds no key, is an error (never "no file").
        XCTAssertTrue(
            FileManager.default.createFile(
                atPath: file, contents: Data(hexEncode(Array(repeating: 7, count: 32)).utf8),
                attributes: [.posixPermissions: 0o644]))
        XCTAssertThrowsError(try AuditKeyFile.load(stateDir: dir)) { XCTAssertTrue("\($0)".contains("0600"), "\($0)") }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)
        XCTAssertNotNil(try AuditKeyFile.load(stateDir: dir))
        try Data("junk".utf8).write(to: URL(fileURLWithPath: file))
        XCTAssertThrowsError(try AuditKeyFile.load(stateDir: dir)) {
            XCTAssertTrue("\($0)".contains("64 hex digits"), "\($0)")
        }
    }

    // MARK: handlers with the in-memory store

    func testRequestsRecordExactlyTheirChangesWithTheirActor() throws {
        let gw = TestGateway { $0.observers = [AuditFailureObserver(store: $0.metadata, perMinute: 10)] }
        let start = try gw.metadata.auditRecords(AuditQuery()).count
        XCTAssertEqual(gw.send("PUT", "/photos").status, 200)
        XCTAssertEqual(gw.send("PUT", "/photos/a.jpg", body: [1, 2, 3]).status, 200)
        XCTAssertEqual(gw.send("GET", "/photos/a.jpg").status, 200)
        XCTAssertEqual(gw.send("DELETE", "/photos/a.jpg").status, 204)
        XCTAssertEqual(gw.send("DELETE", "/photos/a.jpg").status, 204)  // nothing left to delete
        XCTAssertEqual(
            gw.send(
                "POST", "/admin/tenants/default/users",
                body: Array(#"{"name": "bob", "permissions": {"s3:*": ["*"]}}"#.utf8)
            ).status, 201)
        XCTAssertEqual(gw.send("GET", "/", secret: "wrong").status, 403)
        let records = Array(try gw.metadata.auditRecords(AuditQuery()).dropFirst(start))
        XCTAssertEqual(
            records.map(\.change), ["bucket.create", "object.put", "object.delete", "user.create", "auth.failure"])
        XCTAssertEqual(
            records.map(\.operation), ["CreateBucket", "PutObject", "DeleteObject", "admin:CreateUser", ""])
        XCTAssertEqual(records.map(\.origin), ["s3", "s3", "s3", "admin", "s3"])
        XCTAssertEqual(records.prefix(4).map(\.accessKey), Array(repeating: TestGateway.accessKey, count: 4))
        // The failure is nobody's (authentication did not pass), but the key the request named is kept.
        XCTAssertEqual(records.last?.accessKey, "")
        XCTAssertEqual(
            records.last?.detail,
            #"{"reason":"SignatureDoesNotMatch","status":403,"access_key_id":"\#(TestGateway.accessKey)"}"#)
        XCTAssertEqual(Set(records.map(\.requestId)).count, 5)
        XCTAssertNil(AuditChainTestsSupport.verify(try gw.metadata.auditRecords(AuditQuery())))
    }

    func testAFloodOfAuthFailuresIsCountedNotRecorded() throws {
        let gw = TestGateway { $0.observers = [AuditFailureObserver(store: $0.metadata, perMinute: 3)] }
        for _ in 0..<10 { XCTAssertEqual(gw.send("GET", "/", secret: "wrong").status, 403) }
        XCTAssertEqual(try gw.metadata.auditRecords(AuditQuery(change: "auth.failure")).count, 3)
        // The next minute's first failure brings the count of those left out.
        let observer = AuditFailureObserver(store: gw.metadata, perMinute: 3)
        for t in [0.0, 1, 2, 3, 4, 61] {
            let trace = RequestTrace(requestId: "r", origin: .s3, started: t)
            trace.authFailure = "InvalidAccessKeyId"
            observer.requestFinished(trace)
        }
        let suppressed = try gw.metadata.auditRecords(AuditQuery(change: "auth.failures-suppressed"))
        XCTAssertEqual(suppressed.map(\.detail), [#"{"count":2}"#])
    }

    func testSuppressedCountsAreRecordedWithoutALaterFailure() throws {
        let gw = TestGateway()
        let observer = AuditFailureObserver(store: gw.metadata, perMinute: 1)
        func fail(_ t: Double) {
            let trace = RequestTrace(requestId: "r", origin: .s3, started: t)
            trace.authFailure = "InvalidAccessKeyId"
            observer.requestFinished(trace)
        }
        var suppressed: [String] {
            (try? gw.metadata.auditRecords(AuditQuery(change: "auth.failures-suppressed")).map(\.detail)) ?? []
        }
        for t in [0.0, 1, 2] { fail(t) }
        observer.flush(now: 30)  // the minute is not over
        XCTAssertEqual(suppressed, [])
        observer.flush(now: 60)  // the timer, once it is
        XCTAssertEqual(suppressed, [#"{"count":2}"#])
        for t in [120.0, 121] { fail(t) }
        observer.close(now: 125)  // shutdown: the running minute's count too
        XCTAssertEqual(suppressed, [#"{"count":2}"#, #"{"count":1}"#])
    }

    func testAFailuresNamesAreEscapedAndBounded() throws {
        // `%00` in a path is percent-decoded into the trace before the credentials are refused
        // (an expired session token): the record must still verify, and stay small.
        let gw = TestGateway()
        let observer = AuditFailureObserver(store: gw.metadata, perMinute: 10)
        let trace = RequestTrace(requestId: "r", origin: .s3, started: 0)
        trace.authFailure = "ExpiredToken"
        trace.bucket = "b"
        trace.key = "a\u{0}b\u{1}" + String(repeating: "é", count: 2000)
        trace.claimedAccessKey = "ASIA\u{0}X"
        observer.requestFinished(trace)
        let r = try XCTUnwrap(try gw.metadata.auditRecords(AuditQuery(change: "auth.failure")).last)
        XCTAssertTrue(r.key.hasPrefix("a%00b%01éé"))
        XCTAssertLessThanOrEqual(r.key.utf8.count, 1024)
        XCTAssertTrue(r.detail.contains(#""access_key_id":"ASIA%00X""#), r.detail)
        XCTAssertEqual(AuditFailureObserver.clean("x\u{7f}"), "x%7F")
        XCTAssertNil(AuditChainTestsSupport.verify(try gw.metadata.auditRecords(AuditQuery())))
    }

    func testTheClaimedAccessKeyIsReadFromEachSignatureForm() {
        func head(_ auth: String?, query: String = "") -> RequestHead {
            RequestHead(
                method: "GET", rawURI: "/b/k" + (query.isEmpty ? "" : "?" + query),
                headers: auth.map { [(name: "authorization", value: $0)] } ?? [])
        }
        XCTAssertEqual(
            head(
                "AWS4-HMAC-SHA256 Credential=AKIDV4/20261129/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=ab"
            ).claimedAccessKey,
            "AKIDV4")
        XCTAssertEqual(head("AWS AKIDV2:c2ln").claimedAccessKey, "AKIDV2")
        XCTAssertEqual(
            head(nil, query: "X-Amz-Credential=AKIDQ%2F20261129%2Fx").claimedAccessKey, "AKIDQ")
        XCTAssertEqual(
            head(nil, query: "AWSAccessKeyId=AKIDQ2&Signature=x").claimedAccessKey, "AKIDQ2")
        XCTAssertNil(head(nil).claimedAccessKey)
    }

    func testConfigReadsTheAuditSection() throws {
        let base = "[[zones]]\nname = \"z1\"\npath = \"/data/z1\"\n"
        var c = try GatewayConfig.parse(base, file: "t.toml")
        XCTAssertEqual(c.audit, AuditSettings())
        XCTAssertEqual(c.audit.digestInterval, 15)
        c = try GatewayConfig.parse(
            base + "[audit]\ndigest_interval = 0.5\ndigest_zone = \"z1\"\ndigest_bucket = \"audit-digests\"\n",
            file: "t.toml")
        XCTAssertEqual(c.audit.digestInterval, 0.5)
        XCTAssertEqual(c.audit.digestZone, "z1")
        XCTAssertEqual(c.audit.digestBucket, "audit-digests")
        XCTAssertTrue(c.audit.enabled)
        c = try GatewayConfig.parse(base + "[audit]\nenabled = false\n", file: "t.toml")
        XCTAssertFalse(c.audit.enabled)
        for (bad, says) in [
            ("digest_interval = 0", "between"), ("digest_zone = \"z1\"", "together"),
            ("digest_zone = \"z9\"\ndigest_bucket = \"abc\"", "not a configured zone"),
            ("digest_zone = \"z1\"\ndigest_bucket = \"Bad_Name\"", "not a valid bucket"), ("nope = 1", "unknown key"),
        ] {
            XCTAssertThrowsError(try GatewayConfig.parse(base + "[audit]\n" + bad + "\n", file: "t.toml")) { error in
                XCTAssertTrue("\(error)".contains(says), "\(error)")
            }
        }
    }
}

/// An audit store that runs `meanwhile` (a gateway and agent at work) once a record read comes
/// back short: just after the walk read its last page.
final class WritingWhileRead: AuditStore, @unchecked Sendable {
    let inner: any AuditStore
    var meanwhile: (() -> Void)?
    init(inner: any AuditStore, meanwhile: @escaping () -> Void) {
        self.inner = inner
        self.meanwhile = meanwhile
    }
    func auditRecords(_ query: AuditQuery) throws(StoreError) -> [AuditRecord] {
        let page = try inner.auditRecords(query)
        if page.count < query.limit, let m = meanwhile {
            meanwhile = nil
            m()
        }
        return page
    }
    func appendAudit(_ entry: AuditEntry) throws(StoreError) -> AuditRecord { try inner.appendAudit(entry) }
    func auditDigests(after: Int64, limit: Int, newest: Bool) throws(StoreError) -> [AuditDigest] {
        try inner.auditDigests(after: after, limit: limit, newest: newest)
    }
    func addAuditDigest(
        periodEnd: Int64, _ make: (AuditDigest?, AuditRecord?) throws(StoreError) -> AuditDigest
    ) throws(StoreError) -> AuditDigest? { try inner.addAuditDigest(periodEnd: periodEnd, make) }
    func pendingAuditDigests() throws(StoreError) -> [AuditDigest] { try inner.pendingAuditDigests() }
    func markAuditDigestExported(id: Int64) throws(StoreError) { try inner.markAuditDigestExported(id: id) }
    func auditKeys() throws(StoreError) -> [AuditKey] { try inner.auditKeys() }
    func addAuditKey(_ key: AuditKey) throws(StoreError) { try inner.addAuditKey(key) }
}
