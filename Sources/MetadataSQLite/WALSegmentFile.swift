import GatewayCore

/// A shipped WAL segment, self-describing so a restore can check it with nothing else: the
/// position it starts at (`encode(position:)`: the WAL's 32-byte header, the frame offset, the
/// checksum the first frame continues; 48 bytes), then whole transactions' frames exactly as
/// they were in the WAL file. A snapshot's manifest records the same 48 bytes for the position
/// it was taken at.
public enum WALSegmentFile {
    public static let positionSize = WALFormat.headerSize + 16

    public static func encode(position c: WALFormat.Cursor) -> [UInt8] {
        var out = c.header.encoded()
        appendBE32(&out, UInt32(truncatingIfNeeded: c.offset >> 32))
        appendBE32(&out, UInt32(truncatingIfNeeded: c.offset))
        appendBE32(&out, c.chain.s0)
        appendBE32(&out, c.chain.s1)
        return out
    }

    public static func decodePosition(_ bytes: UnsafeRawBufferPointer) -> WALFormat.Cursor? {
        guard bytes.count >= positionSize, let header = WALFormat.Header(bytes) else { return nil }
        let offset = Int64(be32(bytes, 32)) << 32 | Int64(be32(bytes, 36))
        guard offset >= Int64(WALFormat.headerSize),
            (offset - Int64(WALFormat.headerSize)) % Int64(header.frameSize) == 0
        else { return nil }
        return WALFormat.Cursor(
            header: header, offset: offset, chain: WALFormat.Checksum(be32(bytes, 40), be32(bytes, 44)))
    }

    public struct Decoded {
        public var start: WALFormat.Cursor
        public var end: WALFormat.Cursor
        public var frames: Int
    }

    /// The segment's start and end, after checking every frame (salts, the checksum chain) and
    /// that it holds whole transactions and nothing else.
    public static func decode(_ bytes: [UInt8]) throws(StoreError) -> Decoded {
        let result: Decoded? = bytes.withUnsafeBytes { b in
            guard let start = decodePosition(b) else { return nil }
            let frames = UnsafeRawBufferPointer(rebasing: b[positionSize...])
            guard frames.count % start.header.frameSize == 0 else { return nil }
            let scan = WALFormat.scan(frames, from: start)
            guard scan.length == frames.count, scan.frames > 0 else { return nil }
            return Decoded(start: start, end: scan.end, frames: scan.frames)
        }
        guard let result else {
            throw .internalFailure("WAL segment damaged: a frame fails its salt or checksum, or a transaction is cut")
        }
        return result
    }
}
