/// Where the bytes of an encrypted object sit (docs/ENCRYPTION.md, "Stream format v1"): each
/// stream (a PUT body, a copy, one multipart part) is a 16-byte header followed by segments of
/// up to `segmentSize` plaintext bytes, each stored as ciphertext ‖ 16-byte tag. An object's
/// streams are stored back to back, whether as one blob or one blob per part, so every offset
/// here is in that concatenation. Pure arithmetic: the crypto lives in SigV4.
public enum EncryptionLayout {
    public static let segmentSize = 64 * 1024
    public static let headerSize = 16
    public static let tagSize = 16
    public static let saltSize = 12
    /// "S3E" and the format version: the first 4 bytes of every stream.
    public static let magic: [UInt8] = [0x53, 0x33, 0x45, 0x01]

    /// Segments of a stream of `plain` bytes; an empty stream still has one (empty) segment, so
    /// its last-segment tag proves it was not cut.
    public static func segmentCount(plain: Int64) -> Int64 {
        plain == 0 ? 1 : (plain + Int64(segmentSize) - 1) / Int64(segmentSize)
    }

    /// Stored (ciphertext) size of one stream of `plain` bytes.
    public static func storedSize(plain: Int64) -> Int64 {
        Int64(headerSize) + plain + Int64(tagSize) * segmentCount(plain: plain)
    }

    /// Stored size of streams stored back to back.
    public static func storedSize(streams: [Int64]) -> Int64 { streams.reduce(0) { $0 + storedSize(plain: $1) } }

    /// Plaintext bytes in segment `index` of a stream of `plain` bytes.
    public static func segmentPlainSize(_ index: Int64, plain: Int64) -> Int {
        Int(max(0, min(Int64(segmentSize), plain - index * Int64(segmentSize))))
    }

    /// Offset of segment `index` from its stream's start (the header comes first).
    public static func segmentOffset(_ index: Int64) -> Int64 {
        Int64(headerSize) + index * Int64(segmentSize + tagSize)
    }

    /// The part of one stream a plaintext range needs.
    public struct StreamSlice: Sendable, Equatable {
        /// The stream's index (the part's, 0-based).
        public var stream: Int
        /// Where the stream starts in the stored concatenation.
        public var storedOffset: Int64
        /// The stream's plaintext size.
        public var plainSize: Int64
        public var firstSegment: Int64
        public var lastSegment: Int64
        /// Plaintext bytes to drop from the start of `firstSegment`.
        public var skip: Int
        /// Plaintext bytes this stream yields in all.
        public var take: Int64

        public init(
            stream: Int, storedOffset: Int64, plainSize: Int64, firstSegment: Int64, lastSegment: Int64, skip: Int,
            take: Int64
        ) {
            self.stream = stream
            self.storedOffset = storedOffset
            self.plainSize = plainSize
            self.firstSegment = firstSegment
            self.lastSegment = lastSegment
            self.skip = skip
            self.take = take
        }

        public var segmentCount: Int64 { EncryptionLayout.segmentCount(plain: plainSize) }
        /// The stream's header, in the concatenation.
        public var header: StoredRange { StoredRange(offset: storedOffset, length: Int64(headerSize)) }
        /// Segments `firstSegment...lastSegment` (ciphertext and tags), in the concatenation.
        public var segments: StoredRange {
            let start = storedOffset + segmentOffset(firstSegment)
            let end =
                storedOffset + segmentOffset(lastSegment) + Int64(segmentPlainSize(lastSegment, plain: plainSize))
                + Int64(tagSize)
            return StoredRange(offset: start, length: end - start)
        }
    }

    public struct StoredRange: Sendable, Equatable {
        public var offset: Int64
        public var length: Int64
        public init(offset: Int64, length: Int64) {
            self.offset = offset
            self.length = length
        }
        public var end: Int64 { offset + length }
    }

    /// The slices of `streams` (plaintext sizes, in order) that plaintext bytes
    /// `offset..<offset+length` of the whole object need; empty for an empty range. The range
    /// must lie inside the object.
    public static func slices(streams: [Int64], offset: Int64, length: Int64) -> [StreamSlice] {
        precondition(offset >= 0 && length >= 0 && offset + length <= streams.reduce(0, +), "range outside the object")
        guard length > 0 else { return [] }
        let end = offset + length
        var out: [StreamSlice] = []
        var plainStart: Int64 = 0
        var storedStart: Int64 = 0
        let s = Int64(segmentSize)
        for (i, n) in streams.enumerated() {
            let from = max(offset, plainStart) - plainStart
            let to = min(end, plainStart + n) - plainStart
            if to > from {
                out.append(
                    StreamSlice(
                        stream: i, storedOffset: storedStart, plainSize: n, firstSegment: from / s,
                        lastSegment: (to - 1) / s, skip: Int(from % s), take: to - from))
            }
            plainStart += n
            storedStart += storedSize(plain: n)
            if plainStart >= end { break }
        }
        return out
    }

    /// The stored byte ranges to fetch for `slices`, in order: every slice's header and its
    /// segments, with touching ranges merged (a range from a stream's first segment reads its
    /// header in the same request; consecutive whole parts are one range).
    public static func reads(_ slices: [StreamSlice]) -> [StoredRange] {
        var out: [StoredRange] = []
        for slice in slices {
            for r in [slice.header, slice.segments] {
                if let last = out.last, last.end == r.offset {
                    out[out.count - 1].length += r.length
                } else {
                    out.append(r)
                }
            }
        }
        return out
    }
}
