internal import CSQLite
import GatewayCore

#if canImport(Glibc)
    import Glibc
#endif

/// The live side of continuous backup (docs/METADATA.md, "Backup and restore"): reads new
/// transactions from the `-wal` file as SQLite wrote them and checkpoints when the WAL is
/// large, as the only checkpointer (every other connection opened with `checkpoints: false`).
///
/// - Between rounds it keeps a read transaction open: a checkpoint by anyone else can then not
///   copy frames past it, and the WAL cannot start over (https://www.sqlite.org/wal.html).
/// - Its checkpoint first runs a PASSIVE checkpoint with only its read transaction held (writers go
///   on; it cannot copy past that read mark), then holds the write lock (BEGIN IMMEDIATE), takes
///   the last frames and runs a second, short PASSIVE checkpoint on the second connection. When every frame was copied back, it returns an
///   end marker (the WAL ended there) and the next writer may restart the WAL: salt-1 goes up
///   by one, which `nextSegment` accepts once as the next WAL of the generation. Any other
///   change of salts, or a checkpoint that finds frames it did not take, throws
///   `WALBackupBroken`: never a silent gap.
public final class SQLiteWALSource: WALBackupSource {
    let walPath: String
    let path: String
    let checkpointBytes: Int64
    /// Holds the read transaction between rounds and the write lock during a checkpoint.
    private let lock: SQLiteConnection
    private let checkpointer: SQLiteConnection
    private var reading = false
    /// The read transaction could not be taken again: frames may have been checkpointed past us.
    private var readLost = false
    /// Where the next frames are expected; nil: no WAL seen yet (the next header starts one).
    private var cursor: WALFormat.Cursor?
    private var index = 0
    /// Our last checkpoint copied every frame back: the next writer may restart the WAL.
    private var restartExpected = false

    /// A segment ends at the first commit past this many bytes (a transaction is never cut), so
    /// neither the shipper nor a restore holds more than that and one transaction in memory.
    let segmentBytes: Int

    /// `checkpointBytes`: the WAL size past which `wantsCheckpoint` is true.
    public init(path: String, checkpointBytes: Int64 = 4 << 20, segmentBytes: Int = 64 << 20) throws(StoreError) {
        self.segmentBytes = segmentBytes
        self.path = path
        walPath = path + "-wal"
        self.checkpointBytes = checkpointBytes
        lock = try SQLiteConnection(path: path, checkpoints: false)
        checkpointer = try SQLiteConnection(path: path, checkpoints: false)
    }

    deinit { endRead() }

    public var position: WALFormat.Cursor? { cursor }

    public func beginGeneration(snapshotPath: String) throws -> WALSnapshotInfo {
        endRead()
        readLost = false
        let source = try SQLiteConnection(path: path, readOnly: true, checkpoints: false)
        var pageSize = 0
        try source.query("PRAGMA page_size", []) { r in pageSize = Int(r.int(0)) }
        try lock.exec("BEGIN IMMEDIATE")
        let copied: (frames: Int, all: Bool)?
        do {
            // Writers wait: the WAL read here is exactly what the snapshot's read transaction sees.
            copied = try passiveCheckpoint()
            cursor = nil
            index = 0
            if let header = try readHeader() {
                let scan = try scanFile(from: WALFormat.Cursor(header: header), collect: false).0
                cursor = scan.end
                // None in the WAL by its index (a RESTART checkpoint): what the file still holds
                // is stale and all in the database; the next writer starts the WAL over.
                if let copied, copied.frames != scan.frames, copied.frames != 0 {
                    throw WALBackupBroken("the WAL holds \(copied.frames) frames, \(scan.frames) readable")
                }
            }
            try Self.openRead(source)
            try lock.exec("ROLLBACK")
        } catch {
            try? lock.exec("ROLLBACK")
            throw error
        }
        defer { try? source.exec("COMMIT") }
        restartExpected = copied?.all ?? false
        let pages = try SQLiteSnapshot.copy(from: source, to: snapshotPath)
        beginRead()
        return WALSnapshotInfo(
            pageSize: pageSize, pages: pages, walPosition: cursor.map(WALSegmentFile.encode(position:)) ?? [],
            endMarker: restartExpected ? endMarker() : nil)
    }

    public func nextSegment() throws -> WALSegment? {
        try checkRead()
        let segment = try collect()
        // Move the read transaction up to what was taken, so checkpoints can copy it back.
        endRead()
        beginRead()
        return segment
    }

    public var wantsCheckpoint: Bool { (cursor?.offset ?? 0) > checkpointBytes }

    public func checkpoint() throws -> [WALSegment] {
        try checkRead()
        // A first pass without the write lock, writers going on: it copies back at most up to
        // our read transaction's mark (frames already read or about to be), and while we hold
        // it the WAL cannot restart. The pass under the lock below then has little left to copy.
        _ = try? passiveCheckpoint()
        endRead()
        defer { beginRead() }
        try lock.exec("BEGIN IMMEDIATE")
        defer { try? lock.exec("ROLLBACK") }
        // From here the segments are returned whatever happens: their frames are taken.
        var out: [WALSegment] = []
        while let s = try collect() { out.append(s) }
        let segment = out.last
        let shipped = cursor?.framesBefore ?? 0
        if let copied = try? passiveCheckpoint() {
            if copied.frames == shipped {
                restartExpected = copied.all
                // Writers are held off: the WAL ends exactly at the cursor.
                if copied.all, let marker = endMarker() { out.append(marker) }
            } else if segment == nil {
                throw WALBackupBroken("checkpoint: the WAL holds \(copied.frames) frames, \(shipped) were taken")
            } else {
                // Ship what was taken first; the next round finds the WAL it cannot follow.
                restartExpected = false
            }
        }
        return out
    }

    public func checkpointAbandoningGeneration() throws {
        endRead()
        defer { beginRead() }
        _ = try passiveCheckpoint()
        cursor = nil
        restartExpected = false
    }

    /// The WAL's number in the generation (4 bytes), whether a restart is expected (1 byte), the
    /// position (`WALSegmentFile.encode(position:)`).
    public var resumePoint: [UInt8]? {
        guard let cursor else { return nil }
        var out: [UInt8] = []
        appendBE32(&out, UInt32(index))
        out.append(restartExpected ? 1 : 0)
        return out + WALSegmentFile.encode(position: cursor)
    }

    public func resume(_ point: [UInt8]) throws -> Bool {
        guard point.count == 5 + WALSegmentFile.positionSize,
            let position = point.withUnsafeBytes({
                WALSegmentFile.decodePosition(UnsafeRawBufferPointer(rebasing: $0[5...]))
            })
        else { return false }
        let expected = point[4] == 1
        guard let header = try readHeader() else { return false }
        if header.salt1 == position.header.salt1 && header.salt2 == position.header.salt2 {
            // The frame before the position must still be the one taken: same salts, same checksum.
            if position.offset > Int64(WALFormat.headerSize) {
                let frame = try readFile(
                    from: position.offset - Int64(header.frameSize), limit: WALFormat.frameHeaderSize)
                let same =
                    frame.count == WALFormat.frameHeaderSize
                    && frame.withUnsafeBytes { f in
                        be32(f, 8) == header.salt1 && be32(f, 12) == header.salt2
                            && WALFormat.Checksum(be32(f, 16), be32(f, 20)) == position.chain
                    }
                guard same else { return false }
            } else if position.chain != header.checksum {
                return false
            }
        } else if !(expected && header.salt1 == position.header.salt1 &+ 1) {
            // One restart after the end marker shipped is followed: no process checkpoints but
            // the shipper (connections opened with `checkpoints: false`, none at close either),
            // so nothing appended after the marker can have been copied back and dropped.
            return false
        }
        endRead()
        cursor = position
        index = point.withUnsafeBytes { Int(be32($0, 0)) }
        restartExpected = expected
        beginRead()
        return true
    }

    /// New whole transactions after the cursor, following a WAL restart our checkpoint allowed.
    /// Changes nothing when it throws: frames are consumed only with the segment returned.
    private func collect() throws -> WALSegment? {
        guard let header = try readHeader() else {
            if cursor != nil && !restartExpected {
                throw WALBackupBroken("the WAL was truncated by another checkpoint")
            }
            return nil
        }
        var start = cursor ?? WALFormat.Cursor(header: header)
        var wal = index
        if header.salt1 != start.header.salt1 || header.salt2 != start.header.salt2 {
            guard restartExpected, header.salt1 == start.header.salt1 &+ 1 else {
                throw WALBackupBroken("the WAL was restarted by a checkpoint the backup did not make")
            }
            wal += 1
            start = WALFormat.Cursor(header: header)
        }
        let (scan, bytes) = try scanFile(from: start)
        // The one restart allowed is used up (or was not needed: the old WAL went on).
        if wal != index || scan.frames > 0 { restartExpected = false }
        guard scan.frames > 0 else {
            cursor = start
            index = wal
            return nil
        }
        cursor = scan.end
        index = wal
        return WALSegment(
            index: wal, offset: start.offset, frames: scan.frames,
            bytes: WALSegmentFile.encode(position: start) + bytes)
    }

    /// The WAL ends at the cursor (writers held off, every frame copied back).
    private func endMarker() -> WALSegment? {
        cursor.map {
            WALSegment(
                index: index, offset: $0.offset, frames: 0, bytes: WALSegmentFile.encode(position: $0), endsWAL: true)
        }
    }

    /// (frames in the WAL, whether all were copied back); nil when another checkpoint was running.
    private func passiveCheckpoint() throws(StoreError) -> (frames: Int, all: Bool)? {
        var log: Int32 = -1
        var copied: Int32 = -1
        let rc = sqlite3_wal_checkpoint_v2(checkpointer.handle, "main", SQLITE_CHECKPOINT_PASSIVE, &log, &copied)
        if rc == SQLITE_BUSY { return nil }
        try checkpointer.check(rc, "wal_checkpoint")
        return (Int(max(log, 0)), log <= 0 || copied == log)
    }

    private func beginRead() {
        guard !reading else { return }
        do {
            try Self.openRead(lock)
            reading = true
        } catch {
            try? lock.exec("ROLLBACK")
            readLost = true
        }
    }

    /// A read transaction that has read: its snapshot of the WAL is fixed from here.
    private static func openRead(_ c: SQLiteConnection) throws(StoreError) {
        try c.exec("BEGIN")
        try c.query("SELECT count(*) FROM sqlite_master", [])
    }

    private func checkRead() throws {
        guard readLost else { return }
        readLost = false
        throw WALBackupBroken("the backup's read transaction could not be held")
    }

    func endRead() {
        guard reading else { return }
        reading = false
        try? lock.exec("COMMIT")
    }

    // MARK: the -wal file

    private func readHeader() throws(StoreError) -> WALFormat.Header? {
        let bytes = try readFile(from: 0, limit: WALFormat.headerSize)
        return bytes.withUnsafeBytes { WALFormat.Header($0) }
    }

    /// The whole transactions from `start` on and their bytes, read a window at a time: the
    /// scan stops at the first invalid frame, however large the file grew once (a WAL file keeps
    /// its size after a restart; only its first frames are new), or past `segmentBytes`.
    /// `collect: false` finds only where the readable frames end (however far past
    /// `segmentBytes`), keeping none of their bytes.
    private func scanFile(from start: WALFormat.Cursor, collect: Bool = true) throws(StoreError) -> (
        WALFormat.Scan, [UInt8]
    ) {
        var total = WALFormat.Scan(frames: 0, length: 0, end: start)
        var out: [UInt8] = []
        var window = max(1, min(1 << 20, segmentBytes) / start.header.frameSize) * start.header.frameSize
        while true {
            let bytes = try readFile(from: total.end.offset, limit: window)
            let scan = bytes.withUnsafeBytes { WALFormat.scan($0, from: total.end) }
            if collect { out += bytes[0..<scan.length] }
            total = WALFormat.Scan(
                frames: total.frames + scan.frames, length: total.length + scan.length, end: scan.end)
            // The end of the file, or an invalid frame within the window: nothing more follows.
            if bytes.count < window || scan.valid < bytes.count || (collect && out.count >= segmentBytes) {
                return (total, out)
            }
            // Every frame valid: a transaction longer than the window goes on past it.
            if scan.length == 0 { window *= 2 }
        }
    }

    /// The file's bytes from `offset` (to its end, or `limit`); none when it does not exist.
    private func readFile(from offset: Int64, limit: Int?) throws(StoreError) -> [UInt8] {
        do {
            return try readFileBytes(walPath, from: offset, limit: limit) ?? []
        } catch {
            throw .internalFailure("\(error)")
        }
    }
}
