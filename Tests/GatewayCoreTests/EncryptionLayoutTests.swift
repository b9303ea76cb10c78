import GatewayCore
import XCTest

/// Stream format v1 arithmetic at every boundary: sizes, the slices a plaintext range needs and
/// the stored ranges fetched for them.
final class EncryptionLayoutTests: XCTestCase {
    typealias L = EncryptionLayout
    let seg = Int64(EncryptionLayout.segmentSize)

    func testStoredSize() {
        XCTAssertEqual(seg, 65536)
        let cases: [(Int64, Int64)] = [
            (0, 16 + 16),  // one empty segment
            (1, 16 + 1 + 16),
            (seg - 1, 16 + (seg - 1) + 16),
            (seg, 16 + seg + 16),
            (seg + 1, 16 + seg + 1 + 32),
            (2 * seg, 16 + 2 * seg + 32),
            (3 * seg + 5, 16 + 3 * seg + 5 + 64),
        ]
        for (n, stored) in cases {
            XCTAssertEqual(L.storedSize(plain: n), stored, "n=\(n)")
            XCTAssertEqual(L.storedSize(plain: n), 16 + n + 16 * max(1, (n + seg - 1) / seg), "n=\(n)")
        }
        XCTAssertEqual(L.storedSize(streams: [0, 1, seg]), 32 + 33 + 16 + seg + 16)
        XCTAssertEqual(L.segmentPlainSize(0, plain: 0), 0)
        XCTAssertEqual(L.segmentPlainSize(1, plain: seg + 1), 1)
        XCTAssertEqual(L.segmentPlainSize(0, plain: seg + 1), Int(seg))
        XCTAssertEqual(L.segmentOffset(0), 16)
        XCTAssertEqual(L.segmentOffset(2), 16 + 2 * (seg + 16))
    }

    func testSingleStreamSlices() {
        let n = 3 * seg + 5
        func one(_ offset: Int64, _ length: Int64) -> L.StreamSlice {
            let s = L.slices(streams: [n], offset: offset, length: length)
            XCTAssertEqual(s.count, 1)
            return s[0]
        }
        // Whole object.
        XCTAssertEqual(
            one(0, n),
            L.StreamSlice(stream: 0, storedOffset: 0, plainSize: n, firstSegment: 0, lastSegment: 3, skip: 0, take: n))
        // First byte, last byte of segment 0, first byte of segment 1, last byte of the object.
        XCTAssertEqual(one(0, 1).lastSegment, 0)
        XCTAssertEqual(one(seg - 1, 1).firstSegment, 0)
        XCTAssertEqual(one(seg - 1, 1).skip, Int(seg - 1))
        XCTAssertEqual(one(seg, 1).firstSegment, 1)
        XCTAssertEqual(one(seg, 1).skip, 0)
        XCTAssertEqual(one(n - 1, 1).firstSegment, 3)
        XCTAssertEqual(one(n - 1, 1).skip, 4)
        // Across a boundary.
        let across = one(seg - 2, 4)
        XCTAssertEqual([across.firstSegment, across.lastSegment], [0, 1])
        XCTAssertEqual(across.take, 4)
        XCTAssertEqual(across.segments, L.StoredRange(offset: 16, length: 2 * (seg + 16)))
        // The last, short segment's stored extent.
        XCTAssertEqual(one(n - 1, 1).segments, L.StoredRange(offset: 16 + 3 * (seg + 16), length: 5 + 16))
        XCTAssertEqual(L.StoredRange(offset: 16 + 3 * (seg + 16), length: 5 + 16).end, L.storedSize(plain: n))
        // Nothing for an empty range (an empty object included).
        XCTAssertEqual(L.slices(streams: [n], offset: 7, length: 0), [])
        XCTAssertEqual(L.slices(streams: [0], offset: 0, length: 0), [])
    }

    func testReadsMergeHeaderAndSegments() {
        let n = 3 * seg + 5
        // From segment 0: the header comes in the same read.
        XCTAssertEqual(
            L.reads(L.slices(streams: [n], offset: 10, length: 5)), [L.StoredRange(offset: 0, length: 16 + seg + 16)])
        XCTAssertEqual(
            L.reads(L.slices(streams: [n], offset: 0, length: n)),
            [L.StoredRange(offset: 0, length: L.storedSize(plain: n))])
        // From a later segment: the header, then the segments.
        XCTAssertEqual(
            L.reads(L.slices(streams: [n], offset: 2 * seg + 1, length: seg)),
            [
                L.StoredRange(offset: 0, length: 16),
                L.StoredRange(offset: 16 + 2 * (seg + 16), length: seg + 16 + 5 + 16),
            ])
    }

    func testMultiStreamSlices() {
        // Parts of seg+1, 0, 10 and seg bytes, stored back to back.
        let parts: [Int64] = [seg + 1, 0, 10, seg]
        let starts = [
            0, L.storedSize(plain: seg + 1), L.storedSize(streams: [seg + 1, 0]),
            L.storedSize(streams: [seg + 1, 0, 10]),
        ]
        let total = parts.reduce(0, +)
        let all = L.slices(streams: parts, offset: 0, length: total)
        XCTAssertEqual(all.map(\.stream), [0, 2, 3])  // the empty part yields nothing
        XCTAssertEqual(all.map(\.storedOffset), [starts[0], starts[2], starts[3]])
        XCTAssertEqual(all.map(\.take), [seg + 1, 10, seg])
        XCTAssertEqual(all.map(\.lastSegment), [1, 0, 0])
        // The empty part's 32 stored bytes are skipped: two reads.
        XCTAssertEqual(
            L.reads(all),
            [
                L.StoredRange(offset: 0, length: starts[1]),
                L.StoredRange(offset: starts[2], length: L.storedSize(streams: [10, seg])),
            ])

        // A range from the last byte of part 0 to the first of part 3.
        let span = L.slices(streams: parts, offset: seg, length: 1 + 10 + 1)
        XCTAssertEqual(span.map(\.stream), [0, 2, 3])
        XCTAssertEqual(span[0].firstSegment, 1)
        XCTAssertEqual(span[0].skip, 0)
        XCTAssertEqual(span.map(\.take), [1, 10, 1])
        XCTAssertEqual(
            L.reads(span),
            [
                L.StoredRange(offset: 0, length: 16),
                L.StoredRange(offset: 16 + seg + 16, length: 1 + 16),
                L.StoredRange(offset: starts[2], length: L.storedSize(plain: 10) + 16 + seg + 16),
            ])
        // A range inside one later part only touches that part.
        let inner = L.slices(streams: parts, offset: seg + 1 + 3, length: 2)
        XCTAssertEqual(
            inner,
            [
                L.StreamSlice(
                    stream: 2, storedOffset: starts[2], plainSize: 10, firstSegment: 0, lastSegment: 0, skip: 3, take: 2
                )
            ])
        // A range ending exactly at a part's end stops there.
        XCTAssertEqual(L.slices(streams: parts, offset: 0, length: seg + 1).map(\.stream), [0])
    }
}
