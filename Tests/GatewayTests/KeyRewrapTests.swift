import Foundation
import GatewayCore
import GatewayTesting
import MetadataSQL
import SigV4
import XCTest

@testable import Gateway

/// `s3gw keys rewrap`: after a key's rotation every envelope under an older version moves to the
/// current one — only `kv` and the wrapped DEK change, the DEK stays — across versions and
/// unfinished uploads, SSE-C skipped, a concurrent change wins, and a rerun finds nothing left.
final class KeyRewrapTests: XCTestCase {
    var fixture: TwoStores!
    let box = SecretBox(keys: [MasterKey.generate()])

    override func setUpWithError() throws { fixture = try TwoStores("rewrap") }
    override func tearDown() { fixture.remove() }

    static let bucket: BucketRecord = {
        var b = BucketRecord(
            name: "b", owner: "o", createdAt: 1, locationConstraint: "", zones: ["z1"], backendBucket: "bb")
        b.tenant = "acme"
        return b
    }()

    func service(_ store: any MetadataStore) -> KeyService {
        KeyService(store: store, box: box, region: "us-east-1", recordTTL: 0)
    }

    func put(_ s: any MetadataStore, bucket: String = "b", _ key: String, _ e: SSEEnvelope?) throws -> ObjectRecord {
        var o = ObjectRecord(
            bucket: bucket, key: key, size: 1, etag: "e", lastModified: 1, contentType: "t", headers: [],
            checksums: [:], zone: "z1", blob: key + RandomID.make())
        o.sse = e?.encoded ?? ""
        return try s.putVersion(o, condition: nil).stored
    }

    func envelope(_ s: any MetadataStore, _ key: String, seq: String) throws -> SSEEnvelope {
        let v = try s.listVersions(bucket: "b", query: VersionListQuery(prefix: key, maxKeys: 100)).entries
            .first { $0.record.key == key && $0.record.versionSeq == seq }
        return try XCTUnwrap(SSEEnvelope.decode(try XCTUnwrap(v?.record.sse)))
    }

    func testEnvelopesMoveToTheCurrentVersionKeepingTheirDataKeys() throws {
        for s in try fixture.stores(with: Self.bucket) {
            try s.setVersioning(bucket: "b", .enabled)
            let keys = service(s)
            let k = try keys.createKey(tenant: "acme", alias: "app")
            let (kmsDEK, kmsOld) = try keys.newDataKey(.kms(k.id), tenant: "acme")
            let (s3DEK, s3Old) = try keys.newDataKey(.s3, tenant: "acme")
            let customer = randomBytes(32)
            let (_, sseC) = try keys.newDataKey(.customer(customer), tenant: "acme")
            let v1 = try put(s, "kms", kmsOld)
            let v2 = try put(s, "kms", kmsOld)  // a noncurrent version and the latest, same envelope
            let s3 = try put(s, "s3", s3Old)
            let c = try put(s, "c", sseC)
            let plain = try put(s, "plain", nil)
            var u = UploadRecord(
                uploadId: "up1", bucket: "b", key: "big", initiated: 1, contentType: "t", headers: [],
                checksumAlgorithm: "", zone: "z1")
            let (upDEK, upOld) = try keys.newDataKey(.kms(k.id), tenant: "acme")
            u.sse = upOld.encoded
            try s.createUpload(u)

            _ = try keys.rotate(id: k.id)
            let s3Key = try keys.sseS3Key(tenant: "acme")
            _ = try keys.rotate(id: s3Key.id)
            _ = try keys.rotate(id: s3Key.id)

            let outcome = try KeyRewrap.run(s, keys: keys)
            XCTAssertEqual(outcome.rewrapped, 4)
            XCTAssertEqual(outcome.skippedCustomer, 1)
            XCTAssertEqual([outcome.alreadyCurrent, outcome.changed, outcome.failed.count], [0, 0, 0])
            XCTAssertTrue(outcome.complete)

            let fresh = service(s)
            for (key, seq, old, dek, kv) in [
                ("kms", v1.versionSeq, kmsOld, kmsDEK, 2), ("kms", v2.versionSeq, kmsOld, kmsDEK, 2),
                ("s3", s3.versionSeq, s3Old, s3DEK, 3),
            ] {
                let e = try envelope(s, key, seq: seq)
                XCTAssertEqual(e.kekVersion, kv)
                // Only kv and the wrapped DEK changed; the DEK is the same one.
                var expected = old
                expected.kekVersion = kv
                expected.wrapped = e.wrapped
                XCTAssertEqual(e, expected)
                XCTAssertNotEqual(e.wrapped, old.wrapped)
                XCTAssertEqual(try fresh.dataKey(e), dek)
                XCTAssertEqual(try fresh.dataKey(old), dek, "the older version still opens the old envelope")
            }
            let up = try XCTUnwrap(SSEEnvelope.decode(try XCTUnwrap(s.upload(id: "up1")).sse))
            XCTAssertEqual(up.kekVersion, 2)
            XCTAssertEqual(try fresh.dataKey(up), upDEK)
            // SSE-C and plaintext untouched, and so is every row's blob.
            XCTAssertEqual(try envelope(s, "c", seq: c.versionSeq), sseC)
            XCTAssertEqual(try s.object(bucket: "b", key: "plain")?.sse, "")
            XCTAssertEqual(try s.object(bucket: "b", key: "plain")?.blob, plain.blob)
            XCTAssertEqual(try s.object(bucket: "b", key: "s3")?.blob, s3.blob)
            // Audited per key and version, no key material.
            let audits = try s.auditRecords(AuditQuery(change: "keys.rewrap")).map(\.detail)
            XCTAssertEqual(audits.count, 2, "\(audits)")
            XCTAssertTrue(
                audits.contains { $0.contains("\"count\":3") && $0.contains(k.id) && $0.contains("\"version\":2") },
                "\(audits)")
            XCTAssertTrue(audits.contains { $0.contains("\"count\":1") && $0.contains(s3Key.id) }, "\(audits)")
            // A rerun finds nothing left.
            let again = try KeyRewrap.run(s, keys: keys)
            XCTAssertEqual([again.rewrapped, again.alreadyCurrent, again.skippedCustomer], [0, 4, 1])
            XCTAssertEqual(try s.auditRecords(AuditQuery(change: "keys.rewrap")).count, 2)
        }
    }

    func testTenantAndKeyFilters() throws {
        for s in try fixture.stores(with: Self.bucket) {
            var other = Self.bucket
            other.name = "o"
            other.tenant = "other"
            _ = try s.createBucket(other)
            let keys = service(s)
            let a = try keys.createKey(tenant: "acme", alias: "a")
            let b = try keys.createKey(tenant: "acme", alias: "b")
            let x = try keys.createKey(tenant: "other", alias: "x")
            _ = try put(s, "a", keys.newDataKey(.kms(a.id), tenant: "acme").envelope)
            _ = try put(s, "b", keys.newDataKey(.kms(b.id), tenant: "acme").envelope)
            _ = try put(s, bucket: "o", "x", keys.newDataKey(.kms(x.id), tenant: "other").envelope)
            for id in [a.id, b.id, x.id] { _ = try keys.rotate(id: id) }
            XCTAssertEqual(try KeyRewrap.run(s, keys: keys, keyId: a.id).rewrapped, 1)
            XCTAssertEqual(
                try s.object(bucket: "b", key: "b").flatMap { try SSEEnvelope.decode($0.sse) }?.kekVersion, 1)
            XCTAssertEqual(try KeyRewrap.run(s, keys: keys, tenant: "acme").rewrapped, 1)
            XCTAssertEqual(
                try s.object(bucket: "o", key: "x").flatMap { try SSEEnvelope.decode($0.sse) }?.kekVersion, 1)
            let rest = try KeyRewrap.run(s, keys: keys)
            XCTAssertEqual([rest.rewrapped, rest.alreadyCurrent], [1, 2])
        }
    }

    /// The CAS: an envelope replaced between rewrap's read and its write keeps the newer value.
    func testAConcurrentChangeWins() throws {
        for s in try fixture.stores(with: Self.bucket) {
            let keys = service(s)
            let k = try keys.createKey(tenant: "acme")
            let (_, old) = try keys.newDataKey(.kms(k.id), tenant: "acme")
            let v = try put(s, "k", old)
            _ = try keys.rotate(id: k.id)
            let rewrapped = try keys.rewrap(old)
            // Meanwhile a writer (or another rewrap run) put its own envelope there.
            let (_, newer) = try keys.newDataKey(.kms(k.id), tenant: "acme")
            XCTAssertTrue(
                try s.replaceSSE(bucket: "b", key: "k", versionSeq: v.versionSeq, from: old.encoded, to: newer.encoded))
            let change = EnvelopeChange(
                .version(bucket: "b", key: "k", versionSeq: v.versionSeq), from: old.encoded, to: rewrapped.encoded)
            XCTAssertEqual(try s.rewrapSSE([change], keyId: k.id, version: 2), 0)
            XCTAssertEqual(try s.object(bucket: "b", key: "k")?.sse, newer.encoded)
            XCTAssertEqual(
                try s.auditRecords(AuditQuery(change: "keys.rewrap")).count, 0, "nothing applied, nothing audited")
            // Uploads alike: gone or changed, nothing written.
            let gone = EnvelopeChange(.upload(id: "nope"), from: old.encoded, to: rewrapped.encoded)
            XCTAssertEqual(try s.rewrapSSE([gone], keyId: k.id, version: 2), 0)
            // The walk counts no change for it: the newer envelope is current already.
            let outcome = try KeyRewrap.run(s, keys: keys)
            XCTAssertEqual([outcome.rewrapped, outcome.alreadyCurrent, outcome.changed], [0, 1, 0])
        }
    }

    /// An envelope whose key is gone, or whose DEK no longer opens, is reported and left alone.
    func testFailuresAreReportedAndLeftAlone() throws {
        for s in try fixture.stores(with: Self.bucket) {
            let keys = service(s)
            let k = try keys.createKey(tenant: "acme")
            var (_, bad) = try keys.newDataKey(.kms(k.id), tenant: "acme")
            var raw = try XCTUnwrap(base64Decode(bad.wrapped))
            raw[20] ^= 1
            bad.wrapped = base64Encode(raw)
            _ = try put(s, "bad", bad)
            let ghost = SSEEnvelope(mode: .kms("ghost"), kekId: "ghost", kekVersion: 1, wrapped: bad.wrapped)
            _ = try put(s, "ghost", ghost)
            _ = try keys.rotate(id: k.id)
            let outcome = try KeyRewrap.run(s, keys: keys)
            XCTAssertEqual(outcome.rewrapped, 0)
            XCTAssertEqual(outcome.failed.count, 2, "\(outcome.failed)")
            XCTAssertTrue(outcome.failed.contains { $0.hasPrefix("b/bad (version ") }, "\(outcome.failed)")
            XCTAssertEqual(outcome.remaining[k.id], [1: 1])
            XCTAssertFalse(outcome.complete)
            XCTAssertEqual(try s.object(bucket: "b", key: "bad")?.sse, bad.encoded)
            XCTAssertEqual(try s.object(bucket: "b", key: "ghost")?.sse, ghost.encoded)
        }
    }

    /// Batches smaller than the work: several transactions, every envelope moved once.
    func testSmallBatches() throws {
        for s in try fixture.stores(with: Self.bucket) {
            let keys = service(s)
            let k = try keys.createKey(tenant: "acme")
            var deks: [String: [UInt8]] = [:]
            for i in 0..<7 {
                let (dek, e) = try keys.newDataKey(.kms(k.id), tenant: "acme")
                _ = try put(s, "k\(i)", e)
                deks["k\(i)"] = dek
            }
            _ = try keys.rotate(id: k.id)
            let outcome = try KeyRewrap.run(s, keys: keys, batch: 3)
            XCTAssertEqual(outcome.rewrapped, 7)
            XCTAssertEqual(try s.auditRecords(AuditQuery(change: "keys.rewrap")).count, 3)
            for (key, dek) in deks {
                let e = try XCTUnwrap(SSEEnvelope.decode(try XCTUnwrap(s.object(bucket: "b", key: key)).sse))
                XCTAssertEqual(e.kekVersion, 2)
                XCTAssertEqual(try service(s).dataKey(e), dek)
            }
        }
    }
}
