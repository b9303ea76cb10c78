import Foundation
import GatewayTesting
import XCTest

@testable import Gateway
@testable import GatewayCore

/// An encrypted object's zones hold ciphertext, longer than the plaintext `size` clients see:
/// replication copies it as it is, repair and scrub check it by its stored length (keyless), and
/// none of them takes a good encrypted copy for a damaged one — nor a damaged one for a good
/// one: SSE-S3/SSE-KMS copies are authenticated segment by segment with the agent's keys.
final class StoredSizeTests: XCTestCase {
    let catalog: [ZoneCatalog.Zone] = [
        .init(name: "zone-a", country: "se", region: "se-sto"),
        .init(name: "zone-b", country: "fi", region: "fi-hel"),
    ]
    var gw: TestGateway!
    var agentTime = TestGateway.now
    let fakeEnvelope = #"{"v":1,"m":"AES256","k":"k1","kv":1,"w":"d3JhcHBlZA==","s":65536,"td":""}"#

    override func setUp() {
        gw = TestGateway(zones: catalog)
        let body = Array(
            "<CreateBucketConfiguration><LocationConstraint>se,fi</LocationConstraint></CreateBucketConfiguration>".utf8
        )
        XCTAssertEqual(gw.send("PUT", "/rep", body: body).status, 200)
    }

    func agent() -> GatewayContext {
        agentTime += 10
        return gw.context(at: agentTime)
    }

    func drain() {
        let r = Replicator(context: agent(), owner: "test")
        var n = 0
        while r.runOne() && n < 100 { n += 1 }
    }

    func object(_ key: String) throws -> ObjectRecord { try XCTUnwrap(try gw.metadata.object(bucket: "rep", key: key)) }

    /// A real SSE-S3 object (random plaintext) to be replicated; returns its stored primary bytes.
    func putEncrypted(_ key: String, plain: Int) throws -> [UInt8] {
        let body = (0..<plain).map { _ in UInt8.random(in: 0...255) }
        XCTAssertEqual(
            gw.send(
                "PUT", "/rep/\(key)", body: body,
                headers: [("x-amz-tagging", "replica-count=2"), ("x-amz-server-side-encryption", "AES256")]
            ).status, 200)
        let o = try object(key)
        let cipher = try bytes(of: o.blob, in: "zone-a", gw.context.backendBucket(try bucket(), in: "zone-a"))
        XCTAssertEqual(o.storedSize, Int64(cipher.count))
        XCTAssertEqual(cipher.count, Int(EncryptionLayout.storedSize(plain: Int64(plain))))
        return cipher
    }

    func bucket() throws -> BucketRecord { try XCTUnwrap(try gw.metadata.bucket(named: "rep")) }

    func bytes(of blob: String, in zone: String, _ backendBucket: String) throws -> [UInt8] {
        let reader = try gw.zones[zone]!.open(backendBucket: backendBucket, blob: blob, offset: 0, length: nil)
        return try XCTUnwrap(try reader.readAll(limit: 1 << 24))
    }

    func testStoredSizeArithmetic() {
        var o = ObjectRecord(
            bucket: "b", key: "k", size: 70_000, etag: "e", lastModified: 0, contentType: "", headers: [],
            checksums: [:], zone: "z", blob: "x")
        XCTAssertEqual(o.storedSize, 70_000, "plaintext: as sent")
        XCTAssertEqual(o.blobs, [BlobPart(blob: "x", size: 70_000)])
        o.sse = fakeEnvelope
        // Header 16, two segments (64 KiB + the rest) with a 16-byte tag each.
        XCTAssertEqual(o.storedSize, 16 + 70_000 + 32)
        XCTAssertEqual(o.blobs, [BlobPart(blob: "x", size: 16 + 70_000 + 32)])
        o.size = 0
        XCTAssertEqual(o.storedSize, 32, "an empty stream has one empty segment")
        o.size = 65536
        XCTAssertEqual(o.storedSize, 16 + 65536 + 16)
        // A provider-assembled multipart object: one stream per part in one blob.
        o.size = 70_000 + 10
        o.partSizes = [70_000, 10]
        XCTAssertEqual(o.storedSize, (16 + 70_000 + 32) + (16 + 10 + 16))
        // A filesystem multipart object: its part blobs carry their stored sizes.
        o.parts = [BlobPart(blob: "p1", size: 70_048), BlobPart(blob: "p2", size: 42)]
        XCTAssertEqual(o.storedSize, 70_090)
        XCTAssertEqual(ObjectRecord.deleteMarker(bucket: "b", key: "k", at: 0).storedSize, 0)
    }

    func testReplicationCopiesCiphertextAsItIsAndRepairFindsItIntact() throws {
        let cipher = try putEncrypted("k", plain: 100_000)
        drain()
        let o = try object("k")
        XCTAssertEqual(o.replicas.map(\.state), [.completed])
        let r = o.replicas[0]
        XCTAssertEqual(try bytes(of: r.blob, in: "zone-b", r.backendBucket), cipher, "the replica is the ciphertext")

        let b = try bucket()
        for deep in [false, true] {
            let outcome = Repair.check(o, in: b, Repair.Options(deep: deep), agent())
            XCTAssertEqual(outcome.notes, [], "deep \(deep): a good encrypted copy was taken for damaged")
            XCTAssertEqual(outcome.unchecked, [], "deep \(deep)")
        }
        let scrub = try Scrub.run(cursorKey: "scrub", budget: 100, agent())
        XCTAssertEqual(scrub.outcomes.count, 0)
        XCTAssertEqual(gw.zones["zone-b"]!.blobCount, 1, "nothing copied again")
    }

    func testACutEncryptedReplicaIsStillFound() throws {
        _ = try putEncrypted("k", plain: 3000)
        drain()
        let r = try object("k").replicas[0]
        let cut = try bytes(of: r.blob, in: "zone-b", r.backendBucket).dropLast()
        gw.zones["zone-b"]!.plant(Array(cut), backendBucket: r.backendBucket, id: r.blob)
        let outcome = Repair.check(try object("k"), in: try bucket(), Repair.Options(), agent())
        XCTAssertEqual(outcome.notes.count, 1, "\(outcome.notes)")
        XCTAssert(
            outcome.notes.first?.contains("holds \(cut.count) bytes, not \(cut.count + 1)") == true, "\(outcome.notes)")
    }

    /// Code that reads, copies or counts blobs sizes them with `storedSize` / `blobs`; the
    /// plaintext `size` next to a blob is a bug waiting for the first encrypted object.
    func testNoBlobIsSizedByThePlaintextSize() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let forbidden = try NSRegularExpression(
            pattern:
                #"BlobPart\(blob: [^)]*size: (o|src|record|version|object)\.size\)|(beginWrite|BlobChainReader)\([^)]*length: (o|src|record|version|object)\.size\b|\.open\(offset: [^)]*length: (o|src|record|version)\.size\b"#
        )
        // The request paths size plaintext (ranges, copies), which the decrypting reader maps.
        let plaintextPaths: Set<String> = ["Object+Get.swift", "Object+Copy.swift", "Multipart+UploadPart.swift"]
        var offenders: [String] = []
        for dir in ["Sources/Gateway", "Sources/GatewayCore"] {
            let base = root.appendingPathComponent(dir)
            let files = FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil)!
            for case let url as URL in files where url.pathExtension == "swift" {
                if plaintextPaths.contains(url.lastPathComponent) { continue }
                let text = try String(contentsOf: url, encoding: .utf8)
                for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                    let s = String(line)
                    if forbidden.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil {
                        offenders.append("\(url.lastPathComponent):\(n + 1): \(s)")
                    }
                }
            }
        }
        XCTAssertEqual(offenders, [])
    }
}

extension StoredSizeTests {
    /// Really encrypted (SSE-KMS): the replica is the ciphertext, verified by its tag digest, and
    /// the object reads back from the replica alone; the write's audit record names the mode.
    func testARealEncryptedObjectReplicatesAndReadsFromItsReplica() throws {
        let k = try gw.context.keys.createKey(tenant: TenantRecord.defaultID)
        let data = (0..<150_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let put = gw.send(
            "PUT", "/rep/k", body: data,
            headers: [
                ("x-amz-tagging", "replica-count=2"), ("x-amz-server-side-encryption", "aws:kms"),
                ("x-amz-server-side-encryption-aws-kms-key-id", k.id),
            ])
        XCTAssertEqual(put.status, 200, put.text)
        drain()
        let o = try object("k")
        XCTAssertEqual(o.replicas.map(\.state), [.completed])
        XCTAssertFalse(try XCTUnwrap(try SSEEnvelope.decode(o.sse)).tagDigest.isEmpty)
        XCTAssertEqual(Repair.check(o, in: try bucket(), Repair.Options(deep: true), agent()).notes, [])
        gw.zones["zone-a"]!.failing = true
        defer { gw.zones["zone-a"]!.failing = false }
        let got = gw.send("GET", "/rep/k")
        XCTAssertEqual(got.header("x-s3gw-zone"), "zone-b")
        XCTAssertEqual(got.body, data)
        let audit = try gw.metadata.auditRecords(AuditQuery(change: "object.put")).last
        XCTAssert(audit?.detail.contains("\"sse\":\"aws:kms\"") == true, audit?.detail ?? "")
        XCTAssert(audit?.detail.contains("\"sse_key_id\":\"\(k.id)\"") == true, audit?.detail ?? "")
    }

    /// A replica with one flipped ciphertext byte (its tags, and so its tag digest, unchanged)
    /// is damaged: SSE-KMS copies are authenticated, not checked by the tag digest.
    func testAReplicaWithAFlippedCiphertextByteIsDamaged() throws {
        XCTAssertEqual(
            gw.send(
                "PUT", "/rep/k", body: [UInt8](repeating: 1, count: 5000),
                headers: [("x-amz-tagging", "replica-count=2"), ("x-amz-server-side-encryption", "aws:kms")]
            ).status, 200)
        drain()
        let r = try object("k").replicas[0]
        var bytes = try self.bytes(of: r.blob, in: "zone-b", r.backendBucket)
        bytes[100] ^= 1  // ciphertext of segment 0
        gw.zones["zone-b"]!.plant(bytes, backendBucket: r.backendBucket, id: r.blob)
        let outcome = Repair.check(try object("k"), in: try bucket(), Repair.Options(deep: true), agent())
        XCTAssertEqual(outcome.notes.count, 1, "\(outcome.notes)")
        XCTAssert(outcome.notes.first?.contains("does not authenticate") == true, "\(outcome.notes)")
    }

    /// A damaged copy does not fail the GET while a good one exists: the first segment fails
    /// to authenticate, the read moves on to the next copy; with every copy damaged it is a 500.
    func testAGetFallsBackFromADamagedCopyToAGoodOne() throws {
        let data = (0..<150_000).map { _ in UInt8.random(in: 0...255) }
        XCTAssertEqual(
            gw.send(
                "PUT", "/rep/k", body: data,
                headers: [("x-amz-tagging", "replica-count=2"), ("x-amz-server-side-encryption", "aws:kms")]
            ).status, 200)
        drain()
        let o = try object("k")
        XCTAssertEqual(o.replicas.map(\.state), [.completed])
        let primary = gw.context.backendBucket(try bucket(), in: "zone-a")
        var bytes = try self.bytes(of: o.blob, in: "zone-a", primary)
        bytes[20] ^= 1  // segment 0 of the primary copy
        gw.zones["zone-a"]!.plant(bytes, backendBucket: primary, id: o.blob)
        let got = gw.send("GET", "/rep/k")
        XCTAssertEqual(got.status, 200, got.text)
        XCTAssertEqual(got.header("x-s3gw-zone"), "zone-b")
        XCTAssert(got.body == data, "the good copy's bytes")
        let ranged = gw.send("GET", "/rep/k", headers: [("range", "bytes=100-199")])
        XCTAssertEqual(ranged.body, Array(data[100..<200]))
        let r = o.replicas[0]
        var replica = try self.bytes(of: r.blob, in: "zone-b", r.backendBucket)
        replica[20] ^= 1
        gw.zones["zone-b"]!.plant(replica, backendBucket: r.backendBucket, id: r.blob)
        XCTAssertEqual(gw.send("GET", "/rep/k").status, 500)
    }

    /// A damaged source copy is never replicated: the replica job fails, nothing is recorded.
    func testADamagedSourceIsNotReplicated() throws {
        for (key, mode) in [("s3", "AES256"), ("kms", "aws:kms")] {
            var cipher = try putEncrypted(key, plain: 70_000)
            if mode != "AES256" {
                XCTAssertEqual(
                    gw.send(
                        "PUT", "/rep/\(key)", body: [UInt8](repeating: 3, count: 70_000),
                        headers: [("x-amz-tagging", "replica-count=2"), ("x-amz-server-side-encryption", mode)]
                    ).status, 200)
                let o = try object(key)
                cipher = try bytes(of: o.blob, in: "zone-a", gw.context.backendBucket(try bucket(), in: "zone-a"))
            }
            let o = try object(key)
            cipher[cipher.count - 100] ^= 1  // ciphertext of the last segment
            gw.zones["zone-a"]!.plant(
                cipher, backendBucket: gw.context.backendBucket(try bucket(), in: "zone-a"), id: o.blob)
        }
        drain()
        for key in ["s3", "kms"] {
            XCTAssertEqual(try object(key).replicas.filter { $0.state == .completed }, [], key)
        }
        XCTAssertEqual(gw.zones["zone-b"]!.blobCount, 0, "no replica kept")
    }

    /// SSE-C (no key): a replica is read back and compared with the source bytes it was made
    /// from; the keyless check still takes a good copy for intact and a changed tag for damaged.
    func testAnSSECReplicaIsCheckedWithoutTheKey() throws {
        let ssec = SSERequestTests.ssec()
        let data = (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 3) }
        let put = gw.send(
            "PUT", "/rep/c", body: data, headers: [("x-amz-tagging", "replica-count=2")] + ssec, https: true)
        XCTAssertEqual(put.status, 200, put.text)
        drain()
        let o = try object("c")
        XCTAssertEqual(o.replicas.map(\.state), [.completed], "a good SSE-C copy replicates (read back, same bytes)")
        XCTAssertEqual(Repair.check(o, in: try bucket(), Repair.Options(deep: true), agent()).notes, [])
        let r = o.replicas[0]
        var bytes = try self.bytes(of: r.blob, in: "zone-b", r.backendBucket)
        bytes[bytes.count - 1] ^= 1  // the last tag: the keyless check sees it
        gw.zones["zone-b"]!.plant(bytes, backendBucket: r.backendBucket, id: r.blob)
        let outcome = Repair.check(o, in: try bucket(), Repair.Options(deep: true), agent())
        XCTAssertEqual(outcome.notes.count, 1, "\(outcome.notes)")
    }
}
