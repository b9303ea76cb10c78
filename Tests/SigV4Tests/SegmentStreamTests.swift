import GatewayCore
import XCTest

@testable import SigV4

/// Stream format v1 end to end: EncryptingSink's output read back by DecryptingReader for every
/// size class around the segment size and every kind of range, and every kind of damage refused.
final class SegmentStreamTests: XCTestCase {
    let seg = EncryptionLayout.segmentSize
    let dek = randomBytes(32)

    /// Plaintext that differs at every offset (a misplaced segment shows).
    func pattern(_ n: Int, seed: UInt8 = 0) -> [UInt8] {
        (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) &+ seed }
    }

    func encrypt(_ plain: [UInt8], chunk: Int = 100_000, key: [UInt8]? = nil, part: Int = 0) throws -> (
        stored: [UInt8], tags: [UInt8]
    ) {
        let out = MemorySink()
        let sink = EncryptingSink(out, dataKey: key ?? dek, part: part)
        var i = 0
        while i < plain.count {
            let n = min(chunk, plain.count - i)
            try plain[i..<(i + n)].withUnsafeBytes { try sink.write($0) }
            i += n
        }
        try sink.finish()
        XCTAssertEqual(sink.plainCount, Int64(plain.count))
        XCTAssertEqual(sink.storedCount, Int64(out.bytes.count))
        return (out.bytes, sink.tagDigest)
    }

    /// The stored bytes as a zone would serve them: ranges cut at the blob's end; every open logged.
    final class Store {
        var bytes: [UInt8]
        var opens: [(Int64, Int64)] = []
        init(_ bytes: [UInt8]) { self.bytes = bytes }
        func open(_ offset: Int64, _ length: Int64) throws -> any ByteSource {
            opens.append((offset, length))
            let from = min(Int(offset), bytes.count)
            return MemorySource(Array(bytes[from..<min(Int(offset + length), bytes.count)]))
        }
    }

    func decrypt(
        _ store: Store, streams: [Int64], offset: Int64, length: Int64, key: [UInt8]? = nil, buffer: Int = 7000,
        parts: [Int]? = nil
    )
        throws -> [UInt8]
    {
        let r = try DecryptingReader(
            dataKey: key ?? dek, streams: streams, parts: parts ?? streams.map { _ in 0 }, offset: offset,
            length: length, open: store.open)
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: buffer)
        while true {
            let n = try buf.withUnsafeMutableBytes { try r.read(into: $0) }
            if n == 0 { return out }
            out += buf[0..<n]
        }
    }

    /// Ranges of every class for an object of `n` bytes: whole, first/last byte, inside a
    /// segment, across a boundary, exactly one segment, from a boundary to the end.
    func ranges(_ n: Int) -> [(Int, Int)] {
        guard n > 0 else { return [(0, 0)] }
        var r = [(0, n), (0, 1), (n - 1, 1), (n / 2, 1), (0, min(n, seg)), (0, n - 1 + (n == 1 ? 1 : 0))]
        if n > seg { r += [(seg - 1, 2), (seg, 1), (seg, n - seg), (seg - 3, n - seg + 3), (1, n - 1)] }
        if n > 2 * seg { r += [(seg, seg), (seg + 5, seg - 10), (2 * seg - 1, 1), (2 * seg, n - 2 * seg)] }
        var g = SystemRandomNumberGenerator()
        for _ in 0..<5 {
            let a = Int.random(in: 0..<n, using: &g)
            r.append((a, Int.random(in: 1...(n - a), using: &g)))
        }
        return r
    }

    func testRoundTripEverySizeAndRange() throws {
        for n in [0, 1, seg - 1, seg, seg + 1, 3 * seg + 5] {
            let plain = pattern(n)
            for chunk in [1000, seg, 3 * seg + 7] {
                let (stored, _) = try encrypt(plain, chunk: chunk)
                XCTAssertEqual(Int64(stored.count), EncryptionLayout.storedSize(plain: Int64(n)), "n=\(n)")
                XCTAssertEqual(Array(stored.prefix(4)), EncryptionLayout.magic)
                for (a, len) in ranges(n) {
                    let store = Store(stored)
                    let got = try decrypt(store, streams: [Int64(n)], offset: Int64(a), length: Int64(len))
                    XCTAssertEqual(got, Array(plain[a..<(a + len)]), "n=\(n) chunk=\(chunk) range \(a)+\(len)")
                    // A range from segment 0 reads in one request; a later start adds the header's.
                    XCTAssertEqual(store.opens.count, len == 0 ? 0 : (a < seg ? 1 : 2), "n=\(n) range \(a)+\(len)")
                }
            }
        }
    }

    func testSmallReadBuffers() throws {
        let plain = pattern(seg + 100)
        let store = Store(try encrypt(plain).stored)
        XCTAssertEqual(
            try decrypt(store, streams: [Int64(seg + 100)], offset: 3, length: Int64(seg + 90), buffer: 1),
            Array(plain[3..<(seg + 93)]))
    }

    func testSamePlaintextEncryptsDifferently() throws {
        let plain = pattern(2 * seg + 1)
        let a = try encrypt(plain)
        let b = try encrypt(plain)
        XCTAssertEqual(a.stored.count, b.stored.count)
        XCTAssertNotEqual(Array(a.stored[4..<16]), Array(b.stored[4..<16]))  // fresh salt
        XCTAssertNotEqual(a.stored, b.stored)
        XCTAssertNotEqual(a.tags, b.tags)
        // Nothing of the plaintext shows.
        let needle = Array(plain[1000..<1016])
        XCTAssertFalse(a.stored.indices.dropLast(16).contains { Array(a.stored[$0..<($0 + 16)]) == needle })
    }

    func testTagDigestIsMD5OfTags() throws {
        let n = 2 * seg + 3
        let (stored, digest) = try encrypt(pattern(n))
        var tags: [UInt8] = []
        for i in 0..<3 {
            let end =
                Int(EncryptionLayout.segmentOffset(Int64(i)))
                + EncryptionLayout.segmentPlainSize(Int64(i), plain: Int64(n)) + 16
            tags += stored[(end - 16)..<end]
        }
        XCTAssertEqual(digest, Digest.hash(.md5, tags))
        XCTAssertEqual(DataKey.combinedTagDigest([digest]), hexEncode(digest))
        XCTAssertEqual(DataKey.combinedTagDigest([digest, digest]), hexEncode(Digest.hash(.md5, digest + digest)))
    }

    func testMultipleStreams() throws {
        // Parts as separate streams stored back to back (one blob per part, or one assembled blob).
        let sizes = [seg + 1, 0, 10, 2 * seg]
        let parts = sizes.enumerated().map { pattern($1, seed: UInt8($0)) }
        let stored = try parts.flatMap { try encrypt($0).stored }
        let plain = parts.flatMap { $0 }
        let streams = sizes.map(Int64.init)
        XCTAssertEqual(Int64(stored.count), EncryptionLayout.storedSize(streams: streams))
        let cases =
            [(0, plain.count), (seg, 12), (seg + 1, 10), (seg + 5, 6 + seg), (plain.count - 1, 1), (3, seg + 20)]
            + ranges(plain.count)
        for (a, len) in cases {
            let got = try decrypt(Store(stored), streams: streams, offset: Int64(a), length: Int64(len))
            XCTAssertEqual(got, Array(plain[a..<(a + len)]), "range \(a)+\(len)")
        }
    }

    /// The tag digest recomputed from stored bytes alone matches the writers' (a replica check).
    func testStoredTagDigest() throws {
        let sizes = [seg + 1, 0, 10, 2 * seg]
        let encrypted = try sizes.enumerated().map { try encrypt(pattern($1, seed: UInt8($0))) }
        let stored = encrypted.flatMap(\.stored)
        let expected = DataKey.combinedTagDigest(encrypted.map(\.tags))
        for chunk in [1, 17, 1000, stored.count] where chunk != 1 || stored.count < 300_000 {
            XCTAssertEqual(try verify(stored, streams: sizes, chunk: chunk).tagDigest(), expected, "chunk \(chunk)")
        }
        XCTAssertEqual(
            try verify(encrypted[3].stored, streams: [2 * seg], chunk: 5000).tagDigest(), hexEncode(encrypted[3].tags))
        XCTAssertNil(try verify(Array(stored.dropLast()), streams: sizes, chunk: 1000).tagDigest())
        XCTAssertNil(try verify(stored + [0], streams: sizes, chunk: 1000).tagDigest())
        var flipped = stored
        flipped[stored.count - 1] ^= 1
        XCTAssertNotEqual(try verify(flipped, streams: sizes, chunk: 1000).tagDigest(), expected)
        // The keyless check's limit: a flipped ciphertext byte keeps the tag digest.
        var cipherFlipped = stored
        cipherFlipped[100] ^= 1
        XCTAssertEqual(try verify(cipherFlipped, streams: sizes, chunk: 1000).tagDigest(), expected)
    }

    /// With the data key every segment is authenticated: a flipped byte anywhere (header,
    /// ciphertext, tag), a cut, an overlong copy or another key is not authentic.
    func testStoredStreamAuthenticatedWithTheDataKey() throws {
        let sizes = [seg + 1, 0, 10, 2 * seg]
        let stored = try sizes.enumerated().map { try encrypt(pattern($1, seed: UInt8($0))).stored }.flatMap { $0 }
        for chunk in [17, 1000, stored.count] {
            XCTAssertTrue(try verify(stored, streams: sizes, chunk: chunk, key: dek).authentic, "chunk \(chunk)")
        }
        XCTAssertFalse(try verify(stored, streams: sizes, chunk: 1000).authentic, "no key: never authentic")
        for at in [0, 5, 16, 100, seg + 20, stored.count / 2, stored.count - 1] {
            var bad = stored
            bad[at] ^= 1
            XCTAssertFalse(try verify(bad, streams: sizes, chunk: 1000, key: dek).authentic, "byte \(at)")
        }
        XCTAssertFalse(try verify(Array(stored.dropLast()), streams: sizes, chunk: 1000, key: dek).authentic)
        XCTAssertFalse(try verify(stored + [0], streams: sizes, chunk: 1000, key: dek).authentic)
        XCTAssertFalse(try verify(stored, streams: sizes, chunk: 1000, key: randomBytes(32)).authentic)
        let v = try verify(stored, streams: sizes, chunk: 1000, key: dek)
        XCTAssertEqual(v.storedDigest(), hexEncode(Digest.hash(.md5, stored)))
    }

    /// Each part's stream is bound to its part number: two equal-size parts swapped, or a part
    /// read as another number, fail to open (reader and verifier alike), never wrong bytes.
    func testPartsAreBoundToTheirNumbers() throws {
        let one = pattern(1000, seed: 1)
        let two = pattern(1000, seed: 2)
        let p1 = try encrypt(one, part: 1).stored
        let p2 = try encrypt(two, part: 2).stored
        let streams: [Int64] = [1000, 1000]
        XCTAssertEqual(
            try decrypt(Store(p1 + p2), streams: streams, offset: 0, length: 2000, parts: [1, 2]), one + two)
        XCTAssertThrowsError(try decrypt(Store(p2 + p1), streams: streams, offset: 0, length: 2000, parts: [1, 2]))
        XCTAssertThrowsError(try decrypt(Store(p2 + p1), streams: streams, offset: 1000, length: 10, parts: [1, 2]))
        XCTAssertThrowsError(try decrypt(Store(p1 + p2), streams: streams, offset: 0, length: 2000, parts: [1, 3]))
        XCTAssertThrowsError(try decrypt(Store(p1), streams: [1000], offset: 0, length: 1000, parts: [0]))
        XCTAssertThrowsError(try decrypt(Store(p1), streams: [1000], offset: 0, length: 1000, parts: []))
        func authentic(_ bytes: [UInt8], _ parts: [Int]) throws -> Bool {
            let v = StoredStreamVerifier(MemorySink(), streams: streams, parts: parts, dataKey: dek)
            try bytes.withUnsafeBytes { try v.write($0) }
            return v.authentic
        }
        XCTAssertTrue(try authentic(p1 + p2, [1, 2]))
        XCTAssertFalse(try authentic(p2 + p1, [1, 2]))
    }

    func verify(_ bytes: [UInt8], streams: [Int], chunk: Int, key: [UInt8]? = nil) throws -> StoredStreamVerifier {
        let out = MemorySink()
        let sink = StoredStreamVerifier(
            out, streams: streams.map(Int64.init), parts: streams.map { _ in 0 }, dataKey: key)
        var i = 0
        while i < bytes.count {
            let n = min(chunk, bytes.count - i)
            try bytes[i..<(i + n)].withUnsafeBytes { try sink.write($0) }
            i += n
        }
        XCTAssertEqual(out.bytes, bytes)
        return sink
    }

    // MARK: - damage is an error, never wrong bytes

    func assertCorrupt(
        _ stored: [UInt8], streams: [Int64], offset: Int64 = 0, length: Int64? = nil, key: [UInt8]? = nil,
        _ why: String, line: UInt = #line
    ) {
        XCTAssertThrowsError(
            try decrypt(
                Store(stored), streams: streams, offset: offset, length: length ?? streams.reduce(0, +), key: key),
            why, line: line
        ) { e in
            guard case .corrupt? = e as? SSEError else { return XCTFail("\(why): \(e)", line: line) }
        }
    }

    func testTamperingFails() throws {
        let n = 3 * seg + 5
        let streams = [Int64(n)]
        let (stored, _) = try encrypt(pattern(n))
        let step = seg + 16

        for i in [0, 3, 4, 15, 16, 16 + seg - 1, 16 + seg, 16 + step + 100, stored.count - 1] {
            var bad = stored
            bad[i] ^= 0x80
            assertCorrupt(bad, streams: streams, "bit flipped at \(i)")
        }
        // A flip is caught by any range that reads the segment (a range reads its stream's header too).
        var bad = stored
        bad[16 + 2 * step + 7] ^= 1
        assertCorrupt(bad, streams: streams, offset: Int64(2 * seg + 3), length: 10, "flip inside a ranged read")
        bad = stored
        bad[5] ^= 1
        assertCorrupt(bad, streams: streams, offset: Int64(2 * seg + 3), length: 10, "salt flipped, ranged read")

        // Cut: a byte short, a whole last segment missing, or missing and the size lowered to match.
        assertCorrupt(Array(stored.dropLast()), streams: streams, "last byte cut")
        let threeSegments = Array(stored.prefix(16 + 3 * step))
        assertCorrupt(threeSegments, streams: streams, "last segment cut")
        assertCorrupt(threeSegments, streams: [Int64(3 * seg)], "cut at a boundary with the size lowered")
        // (An empty range reads nothing at all: there are no bytes to be wrong.)

        // Reordered segments.
        var swapped = Array(stored.prefix(16))
        swapped += stored[(16 + step)..<(16 + 2 * step)]
        swapped += stored[16..<(16 + step)]
        swapped += stored[(16 + 2 * step)...]
        assertCorrupt(swapped, streams: streams, "segments 0 and 1 swapped")
        assertCorrupt(swapped, streams: streams, offset: Int64(seg), length: 1, "segment 1 read in place of 0")

        // A segment from another stream under the same data key (another part of the upload).
        let (other, _) = try encrypt(pattern(n, seed: 9))
        var spliced = stored
        spliced.replaceSubrange((16 + step)..<(16 + 2 * step), with: other[(16 + step)..<(16 + 2 * step)])
        assertCorrupt(spliced, streams: streams, "segment spliced from another stream")
        // Its header with our segments, or another object's data key.
        var header = stored
        header.replaceSubrange(0..<16, with: other[0..<16])
        assertCorrupt(header, streams: streams, "header of another stream")
        assertCorrupt(stored, streams: streams, key: randomBytes(32), "another data key")
        var magic = stored
        magic[3] = 0x02
        assertCorrupt(magic, streams: streams, "a format version this reader does not know")
    }

    func testMultiStreamBoundaryTampering() throws {
        let sizes = [seg, seg]
        let a = try encrypt(pattern(seg)).stored
        let b = try encrypt(pattern(seg, seed: 1)).stored
        // Part b's segment moved into part a.
        var moved = a
        moved.replaceSubrange(16..<(16 + seg + 16), with: b[16..<(16 + seg + 16)])
        assertCorrupt(moved + b, streams: sizes.map(Int64.init), "a segment moved across parts")
        // Part a stored one byte short: part b is read one byte off.
        assertCorrupt(Array(a.dropLast()) + b, streams: sizes.map(Int64.init), "a part cut short")
    }
}
