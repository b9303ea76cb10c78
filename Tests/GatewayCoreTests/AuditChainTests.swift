import GatewayCore
import SigV4
import XCTest

/// The audit chain's hashing and verification: a clean chain passes, and each kind of tampering
/// (edit, delete, insert, swap; a cut tail and forged digests are in AuditDigestTests) is caught
/// and named with the seq it happened at.
final class AuditChainTests: XCTestCase {
    // MARK: the chain

    static func chain(_ n: Int) -> [AuditRecord] {
        var out: [AuditRecord] = []
        for i in 1...n {
            out.append(
                AuditRecord(
                    seq: Int64(i), time: 1_700_000_000_000 + Int64(i),
                    actor: AuditActor(
                        requestId: "req\(i)", origin: "s3", tenant: "t", accessKey: "AK", operation: "PutObject"),
                    entry: AuditEntry("object.put", bucket: "b", key: "k\(i)", detail: [("size", .int(Int64(i)))]),
                    prevHash: out.last?.hash ?? AuditRecord.genesisHash, sha256Hex: sha256Hex))
        }
        return out
    }

    /// The first problem a verifier finds walking `records` (nil: clean).
    static func verify(_ records: [AuditRecord], after: AuditRecord? = nil) -> AuditProblem? {
        var v = AuditChainVerifier(after: after, sha256Hex: sha256Hex)
        for (i, r) in records.enumerated() {
            if let p = v.check(r, ahead: records[(i + 1)...]) { return p }
        }
        return nil
    }

    func testCleanChainVerifies() {
        let c = Self.chain(10)
        XCTAssertEqual(c[0].prevHash, AuditRecord.genesisHash)
        XCTAssertEqual(c[1].prevHash, c[0].hash)
        XCTAssertNil(Self.verify(c))
        // From a later seq, trusting the record before it.
        XCTAssertNil(Self.verify(Array(c[4...]), after: c[3]))
    }

    func testCanonicalBytesAreUnambiguous() {
        // Moving a character from one field to the next changes the bytes (length-prefixed).
        var a = Self.chain(1)[0]
        var b = a
        a.bucket = "ab"
        a.key = "c"
        b.bucket = "a"
        b.key = "bc"
        XCTAssertNotEqual(a.computedHash(sha256Hex), b.computedHash(sha256Hex))
    }

    func testEditIsNamed() {
        var c = Self.chain(10)
        c[4].key = "other"
        XCTAssertEqual(Self.verify(c), .altered(seq: 5))
        XCTAssertEqual(Self.verify(c)?.description, "record 5 altered: its content does not match its hash")
    }

    func testEditWithRecomputedHashIsNamed() {
        // The forger recomputes the edited record's hash: the next record no longer links to it.
        var c = Self.chain(10)
        c[4].detail = "{}"
        c[4].hash = c[4].computedHash(sha256Hex)
        XCTAssertEqual(Self.verify(c), .altered(seq: 5))
    }

    func testDeleteIsNamed() {
        var c = Self.chain(10)
        c.remove(at: 4)
        XCTAssertEqual(Self.verify(c), .deleted(from: 5, to: 5))
        var first = Self.chain(3)
        first.remove(at: 0)
        XCTAssertEqual(Self.verify(first), .deleted(from: 1, to: 1))
    }

    func testDeleteWithRenumberingIsNamed() {
        var c = Self.chain(10)
        c.removeSubrange(4...5)
        for i in 4..<c.count { c[i].seq -= 2 }
        XCTAssertEqual(Self.verify(c), .deleted(from: 5, to: 6))
    }

    func testInsertIsNamed() {
        // A well-formed record (hash and link right) put in at seq 5; the rest moved up.
        var c = Self.chain(10)
        let forged = AuditRecord(
            seq: 5, time: c[3].time, actor: AuditActor(origin: "s3"),
            entry: AuditEntry("object.delete", bucket: "b", key: "x"),
            prevHash: c[3].hash, sha256Hex: sha256Hex)
        for i in 4..<c.count { c[i].seq += 1 }
        c.insert(forged, at: 4)
        XCTAssertEqual(Self.verify(c), .inserted(seq: 5))
    }

    func testSwapIsNamed() {
        var c = Self.chain(10)
        c.swapAt(4, 5)
        c[4].seq = 5
        c[5].seq = 6
        XCTAssertEqual(Self.verify(c), .reordered(seq: 5, with: 6))
    }

    func testADistantSwapIsNamedAsSuch() {
        var c = Self.chain(20)
        c.swapAt(4, 8)
        c[4].seq = 5
        c[8].seq = 9
        XCTAssertEqual(Self.verify(c), .reordered(seq: 5, with: 9))
    }

    func testALongRenumberedDeletionIsNamedAsSuch() {
        var c = Self.chain(40)
        c.removeSubrange(5...24)
        for i in 5..<c.count { c[i].seq -= 20 }
        XCTAssertEqual(Self.verify(c), .deleted(from: 6, to: 25))
    }

    func testAnInsertedRecordWithAMadeUpHashIsNamed() {
        var c = Self.chain(10)
        var junk = c[3]
        junk.key = "forged"
        junk.hash = String(repeating: "f", count: 64)
        for i in 4..<c.count { c[i].seq += 1 }
        junk.seq = 5
        c.insert(junk, at: 4)
        XCTAssertEqual(Self.verify(c), .inserted(seq: 5))
    }
}
