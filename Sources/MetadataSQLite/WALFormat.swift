import GatewayCore

/// SQLite's write-ahead log as laid out on disk (https://www.sqlite.org/walformat.html): a
/// 32-byte header, then frames of a 24-byte header and one page. Every frame carries the
/// header's two salts and a checksum that runs on from the previous frame's (the header's for
/// the first), so a frame is valid only with every frame before it; a transaction is the frames
/// up to one whose "database size after commit" is not zero. All fields are big-endian.
public enum WALFormat {
    public static let headerSize = 32
    public static let frameHeaderSize = 24
    /// The checksums read the content as little-endian (…82) or big-endian (…83) 32-bit words.
    static let magicLittleEndian: UInt32 = 0x377f_0682
    static let magicBigEndian: UInt32 = 0x377f_0683
    static let version: UInt32 = 3_007_000

    /// The running checksum: for each pair of words x0, x1: s0 += x0 + s1; s1 += x1 + s0.
    public struct Checksum: Equatable, Sendable {
        public var s0: UInt32
        public var s1: UInt32
        public init(_ s0: UInt32 = 0, _ s1: UInt32 = 0) {
            self.s0 = s0
            self.s1 = s1
        }

        mutating func add(_ bytes: UnsafeRawBufferPointer, bigEndian: Bool) {
            var i = 0
            let n = bytes.count & ~7
            while i < n {
                let x0 = word(bytes, i, bigEndian)
                let x1 = word(bytes, i + 4, bigEndian)
                s0 = s0 &+ x0 &+ s1
                s1 = s1 &+ x1 &+ s0
                i += 8
            }
        }

        private func word(_ b: UnsafeRawBufferPointer, _ i: Int, _ bigEndian: Bool) -> UInt32 {
            bigEndian
                ? UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
                : UInt32(b[i + 3]) << 24 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 1]) << 8 | UInt32(b[i])
        }
    }

    public struct Header: Equatable, Sendable {
        public var magic: UInt32
        public var pageSize: Int
        public var checkpointSequence: UInt32
        public var salt1: UInt32
        public var salt2: UInt32
        public var checksum: Checksum

        var bigEndian: Bool { magic == WALFormat.magicBigEndian }
        public var frameSize: Int { WALFormat.frameHeaderSize + pageSize }

        /// The header at the start of `bytes`; nil unless it is whole, of a known version, with
        /// a valid page size and checksum.
        public init?(_ bytes: UnsafeRawBufferPointer) {
            guard bytes.count >= WALFormat.headerSize else { return nil }
            magic = be32(bytes, 0)
            guard magic == WALFormat.magicLittleEndian || magic == WALFormat.magicBigEndian,
                be32(bytes, 4) == WALFormat.version
            else { return nil }
            let size = Int(be32(bytes, 8))
            pageSize = size == 1 ? 65536 : size
            guard pageSize >= 512, pageSize <= 65536, pageSize & (pageSize - 1) == 0 else { return nil }
            checkpointSequence = be32(bytes, 12)
            salt1 = be32(bytes, 16)
            salt2 = be32(bytes, 20)
            checksum = Checksum(be32(bytes, 24), be32(bytes, 28))
            var computed = Checksum()
            computed.add(UnsafeRawBufferPointer(rebasing: bytes[0..<24]), bigEndian: magic == WALFormat.magicBigEndian)
            guard computed == checksum else { return nil }
        }

        /// A new header (little-endian checksums) for a WAL written from scratch.
        public init(pageSize: Int, salt1: UInt32, salt2: UInt32) {
            magic = WALFormat.magicLittleEndian
            self.pageSize = pageSize
            checkpointSequence = 0
            self.salt1 = salt1
            self.salt2 = salt2
            checksum = Checksum()
            let partial = encoded()
            var c = Checksum()
            partial.withUnsafeBytes { c.add(UnsafeRawBufferPointer(rebasing: $0[0..<24]), bigEndian: false) }
            checksum = c
        }

        public func encoded() -> [UInt8] {
            var out: [UInt8] = []
            out.reserveCapacity(WALFormat.headerSize)
            for v in [
                magic, WALFormat.version, UInt32(pageSize == 65536 ? 1 : pageSize), checkpointSequence, salt1, salt2,
                checksum.s0, checksum.s1,
            ] {
                appendBE32(&out, v)
            }
            return out
        }
    }

    /// Where reading a WAL goes on: its header, the offset of the next frame and the checksum
    /// that frame must continue.
    public struct Cursor: Equatable, Sendable {
        public var header: Header
        public var offset: Int64
        public var chain: Checksum

        /// At the first frame of the WAL that `header` starts.
        public init(header: Header) {
            self.header = header
            offset = Int64(WALFormat.headerSize)
            chain = header.checksum
        }

        public init(header: Header, offset: Int64, chain: Checksum) {
            self.header = header
            self.offset = offset
            self.chain = chain
        }

        public var framesBefore: Int { Int((offset - Int64(WALFormat.headerSize)) / Int64(header.frameSize)) }
    }

    /// What a scan found: the whole transactions (frames up to the last commit frame) from the
    /// cursor on, and the cursor after them.
    public struct Scan: Sendable {
        public var frames: Int
        public var length: Int
        public var end: Cursor
        /// Bytes of valid frames read, committed or not: less than what was given when an
        /// invalid frame (or a partial one) ended the scan.
        public var valid = 0
    }

    /// Reads frames from `bytes` (which start at `from.offset`) while each is valid; returns the
    /// part that ends with the last commit frame. A torn, stale (old salts) or garbled frame
    /// ends the scan, as it ends SQLite's own recovery.
    public static func scan(_ bytes: UnsafeRawBufferPointer, from: Cursor) -> Scan {
        let h = from.header
        var chain = from.chain
        var at = 0
        var frames = 0
        var committed = Scan(frames: 0, length: 0, end: from)
        while at + h.frameSize <= bytes.count {
            let frame = UnsafeRawBufferPointer(rebasing: bytes[at..<(at + h.frameSize)])
            guard be32(frame, 0) != 0, be32(frame, 8) == h.salt1, be32(frame, 12) == h.salt2 else { break }
            chain.add(UnsafeRawBufferPointer(rebasing: frame[0..<8]), bigEndian: h.bigEndian)
            chain.add(UnsafeRawBufferPointer(rebasing: frame[frameHeaderSize...]), bigEndian: h.bigEndian)
            guard chain == Checksum(be32(frame, 16), be32(frame, 20)) else { break }
            at += h.frameSize
            frames += 1
            if be32(frame, 4) != 0 {
                committed = Scan(
                    frames: frames, length: at, end: Cursor(header: h, offset: from.offset + Int64(at), chain: chain))
            }
        }
        committed.valid = at
        return committed
    }
}

func be32(_ b: UnsafeRawBufferPointer, _ i: Int) -> UInt32 {
    UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
}

func appendBE32(_ out: inout [UInt8], _ v: UInt32) {
    out += [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)]
}
