import GatewayCore

#if canImport(Glibc)
    import Glibc
#endif

/// Rebuilds a database from a snapshot and the WAL segments shipped after it: their frames,
/// checked segment by segment (salts, checksum chain, no gap between one segment and the
/// next, nor after the snapshot's position), go into a new `-wal` file beside the snapshot with
/// checksums of its own; SQLite then recovers that WAL as after a crash, it is checkpointed
/// into the file, and the result must pass `PRAGMA integrity_check`.
public final class SQLiteRestore: WALReplay {
    let path: String
    let pageSize: Int
    private var fd: Int32
    private let header: WALFormat.Header
    private var chain: WALFormat.Checksum
    /// Where the source's WAL stood after the last frames taken (the snapshot's position first).
    private var last: WALFormat.Cursor?
    /// An end marker vouched that the source's WAL ended at `last`: only then may the next
    /// segment start the next WAL (a restart).
    private var lastEnded = false
    public private(set) var frames = 0
    public private(set) var segments = 0

    /// `snapshotPosition`: the snapshot manifest's WAL position (empty: there was no WAL then).
    public init(databasePath: String, snapshotPosition: [UInt8]) throws(StoreError) {
        path = databasePath
        let head = try Self.readPrefix(databasePath, 100)
        guard head.count == 100, head.starts(with: Array("SQLite format 3\0".utf8)) else {
            throw .internalFailure("\(databasePath) is not an SQLite database")
        }
        let raw = Int(head[16]) << 8 | Int(head[17])
        pageSize = raw == 1 ? 65536 : raw
        if snapshotPosition.isEmpty {
            last = nil
        } else {
            guard let p = snapshotPosition.withUnsafeBytes({ WALSegmentFile.decodePosition($0) }) else {
                throw .internalFailure("the snapshot's WAL position is damaged")
            }
            last = p
        }
        for suffix in ["-wal", "-shm", "-journal"] { unlink(databasePath + suffix) }
        var g = SystemRandomNumberGenerator()
        header = WALFormat.Header(pageSize: pageSize, salt1: g.next(), salt2: g.next())
        chain = header.checksum
        let wal = databasePath + "-wal"
        fd = open(wal, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .internalFailure("create \(wal): \(String(cString: strerror(errno)))") }
        try write(header.encoded())
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Adds one segment's transactions; refuses a damaged segment or one that does not follow
    /// the previous one (or the snapshot) exactly.
    public func append(_ segment: [UInt8]) throws {
        let d = try WALSegmentFile.decode(segment)
        guard d.start.header.pageSize == pageSize else {
            throw StoreError.internalFailure(
                "WAL segment of page size \(d.start.header.pageSize), database \(pageSize)")
        }
        if let last {
            let sameWAL = d.start.header.salt1 == last.header.salt1 && d.start.header.salt2 == last.header.salt2
            let follows =
                sameWAL
                ? d.start.offset == last.offset && d.start.chain == last.chain
                : lastEnded && d.start.offset == Int64(WALFormat.headerSize)
                    && d.start.header.salt1 == last.header.salt1 &+ 1
            guard follows else {
                throw StoreError.internalFailure(
                    "gap in the WAL chain: a segment at offset \(d.start.offset) does not follow offset \(last.offset)")
            }
        } else if d.start.offset != Int64(WALFormat.headerSize) {
            throw StoreError.internalFailure(
                "gap in the WAL chain: the first segment starts at offset \(d.start.offset)")
        }
        // The frames again, under this WAL's salts and checksums, written 1 MiB at a time.
        var out: [UInt8] = []
        out.reserveCapacity((1 << 20) + WALFormat.frameHeaderSize + pageSize)
        try segment.withUnsafeBytes { b in
            var at = WALSegmentFile.positionSize
            for _ in 0..<d.frames {
                let frame = UnsafeRawBufferPointer(rebasing: b[at..<(at + WALFormat.frameHeaderSize + pageSize)])
                var fh: [UInt8] = []
                appendBE32(&fh, be32(frame, 0))
                appendBE32(&fh, be32(frame, 4))
                fh.withUnsafeBytes { chain.add($0, bigEndian: false) }
                chain.add(UnsafeRawBufferPointer(rebasing: frame[WALFormat.frameHeaderSize...]), bigEndian: false)
                appendBE32(&fh, header.salt1)
                appendBE32(&fh, header.salt2)
                appendBE32(&fh, chain.s0)
                appendBE32(&fh, chain.s1)
                out += fh
                out += frame[WALFormat.frameHeaderSize...]
                at += frame.count
                if out.count >= 1 << 20 {
                    try write(out)
                    out.removeAll(keepingCapacity: true)
                }
            }
        }
        try write(out)
        last = d.end
        lastEnded = false
        frames += d.frames
        segments += 1
    }

    /// An end marker: its position must be exactly where the chain stands.
    public func endWAL(_ marker: [UInt8]) throws(StoreError) {
        let p = marker.withUnsafeBytes { WALSegmentFile.decodePosition($0) }
        guard marker.count == WALSegmentFile.positionSize, let p, p == last else {
            throw .internalFailure("gap in the WAL chain: an end marker does not match where the chain stands")
        }
        lastEnded = true
    }

    /// Lets SQLite recover the WAL, checkpoints it into the database file and checks the result.
    public func finish() throws(StoreError) {
        guard fsync(fd) == 0 else { throw .internalFailure("fsync \(path)-wal") }
        close(fd)
        fd = -1
        let db = try SQLiteConnection(path: path)
        var busy: Int64 = 1
        var logged: Int64 = 0
        var copied: Int64 = -1
        try db.query("PRAGMA wal_checkpoint(TRUNCATE)", []) { r in
            busy = r.int(0)
            logged = r.int(1)
            copied = r.int(2)
        }
        guard busy == 0, logged == copied else {
            throw .internalFailure("restore: checkpoint copied \(copied) of \(logged) frames")
        }
        var result: [String] = []
        try db.query("PRAGMA integrity_check", []) { r in result.append(r.text(0)) }
        guard result == ["ok"] else {
            throw .internalFailure("restore: integrity_check: \(result.prefix(5).joined(separator: "; "))")
        }
    }

    private func write(_ bytes: [UInt8]) throws(StoreError) {
        do {
            try bytes.withUnsafeBytes { try FileDescriptorSink(fd: fd, path: path + "-wal").write($0) }
        } catch {
            throw .internalFailure("\(error)")
        }
    }

    private static func readPrefix(_ path: String, _ count: Int) throws(StoreError) -> [UInt8] {
        do {
            guard let bytes = try readFileBytes(path, limit: count) else {
                throw StoreError.internalFailure("open \(path): no such file")
            }
            return bytes
        } catch let e as StoreError {
            throw e
        } catch {
            throw .internalFailure("\(error)")
        }
    }
}
