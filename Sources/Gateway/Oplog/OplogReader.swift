import Foundation
import GatewayCore

#if canImport(Glibc)
    import Glibc
#endif

/// Answers queries over the operations log: the current file and the rotated ones, oldest
/// first. The files are listed (name and inode) under a shared `flock` on the log's lock file,
/// so no rotation renames them while the list is taken, and opened one by one as the query gets
/// to them (a file renamed since is found by its inode; once open, a rotation no longer matters:
/// a file keeps its inode and its bytes). A query for the newest records reads back from the end and stops
/// when it has them; lines that cannot match a filter are skipped by a byte search before any
/// is decoded. A query reads at most `scanBudget` bytes (it runs on a request's thread): one
/// that follows a cursor then answers what it found with a `next` that continues where it
/// stopped; one for the newest records answers what it found that far back.
public enum OplogReader {
    /// A line longer than this is no record (one is well under it): skipped, never buffered.
    static let maxLine = 64 << 10
    /// Bytes one query reads at most.
    public static let scanBudget = 64 << 20

    public static func read(_ settings: OplogSettings, _ query: OplogQuery) throws -> OplogPage {
        try read(settings, query, chunk: 1 << 20)
    }

    /// `chunk`: bytes read at a time (small in tests, so lines cross chunks); `budget`: bytes
    /// read at most.
    static func read(
        _ settings: OplogSettings, _ query: OplogQuery, chunk: Int, budget: Int = scanBudget
    ) throws -> OplogPage {
        let entries = list(settings)
        // Files are opened as the query gets to them and closed once it is done with them: a
        // handful open at a time, however many the log keeps.
        var opened: [Int: LogFile?] = [:]
        defer { for case let f? in opened.values { f.close() } }
        func file(_ i: Int) throws -> LogFile? {
            if let f = opened[i] { return f }
            let f = try open(entries[i], settings, chunk: chunk)
            opened[i] = f
            return f
        }
        func done(_ i: Int) {
            if case let f?? = opened[i] { f.close() }
            opened[i] = .some(nil)
        }
        var budget = budget
        let needles = query.needles
        let since = query.since.map { t -> [UInt8] in
            var out: [UInt8] = []
            HTTPDate.iso8601(t, into: &out)
            return out
        }
        func record(_ whole: UnsafeRawBufferPointer) -> OplogRecord? {
            let line = resynced(whole)
            for n in needles where !contains(line, n) { return nil }
            if query.errors, let status = status(line), status < 400 { return nil }
            if let since, let time = time(line), time.lexicographicallyPrecedes(since) { return nil }
            guard let r = OplogRecord.parse(line), query.matches(r) else { return nil }
            return r
        }
        // Where a follower continues from: after the last whole line of the newest file holding one.
        var end: OplogCursor?
        for i in entries.indices.reversed() {
            guard let f = try file(i) else { continue }
            if f.complete > 0 {
                end = OplogCursor(inode: f.inode, offset: f.complete, fingerprint: f.fingerprint)
                break
            }
        }
        // A file last written before `since` holds no record started after it.
        func mayHold(_ e: Entry) -> Bool { query.since.map { e.modified >= $0 } ?? true }
        guard let after = query.after else {
            var newest: [OplogRecord] = []
            for i in entries.indices.reversed() where mayHold(entries[i]) {
                guard let f = try file(i) else { continue }
                try f.linesBackward(budget: &budget) { line in
                    if let r = record(line) { newest.append(r) }
                    return newest.count < query.limit
                }
                done(i)
                if newest.count >= query.limit || budget <= 0 { break }
            }
            return OplogPage(records: newest.reversed(), next: end)
        }
        // The cursor's file (from its start if it is shorter now than the cursor), or (rotated
        // away since) the oldest there is.
        var start: Int?
        var startOffset = 0
        for i in entries.indices where entries[i].inode == after.inode {
            if let f = try file(i), f.fingerprint == after.fingerprint {
                start = i
                startOffset = f.complete >= after.offset ? after.offset : 0
            }
            break
        }
        var records: [OplogRecord] = []
        for i in entries.indices where i >= (start ?? 0) && (mayHold(entries[i]) || i == start) {
            guard let f = try file(i) else { continue }
            var last: OplogCursor?
            let reached = try f.linesForward(from: i == start ? startOffset : 0, budget: &budget) { line, endOffset in
                guard let r = record(line) else { return true }
                records.append(r)
                last = OplogCursor(inode: f.inode, offset: endOffset, fingerprint: f.fingerprint)
                return records.count < query.limit
            }
            if records.count >= query.limit { return OplogPage(records: records, next: last) }
            // Read enough for one query: the next one goes on from here.
            if budget <= 0 && reached > 0 {
                return OplogPage(
                    records: records, next: OplogCursor(inode: f.inode, offset: reached, fingerprint: f.fingerprint))
            }
            done(i)
        }
        return OplogPage(records: records, next: end ?? after)
    }

    /// A file of the log as the listing found it: its name then, its inode, when it last changed.
    struct Entry {
        let path: String
        let inode: UInt64
        /// Seconds since 1970.
        let modified: Double
    }

    /// The log's files that exist, oldest first, listed (not opened) under a shared lock on
    /// the lock file, so no rotation renames them while the list is taken.
    static func list(_ settings: OplogSettings) -> [Entry] {
        let lock = Glibc.open(settings.path + ".lock", O_RDONLY | O_CLOEXEC)
        if lock >= 0 {
            _ = try? systemCall("flock \(settings.path).lock") { flock(lock, LOCK_SH) }
        }
        defer { if lock >= 0 { _ = Glibc.close(lock) } }
        var entries: [Entry] = []
        for path in settings.allPaths {
            var st = stat()
            guard stat(path, &st) == 0 else { continue }
            let inode = UInt64(st.st_ino)
            // The same file under two names (a rotation by hand while the lock was not taken).
            if entries.contains(where: { $0.inode == inode }) { continue }
            entries.append(
                Entry(
                    path: path, inode: inode,
                    modified: Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9))
        }
        return entries
    }

    /// The listed file, open: under its listed name or (rotated since) whichever of the log's
    /// names holds its inode now; nil once it is gone.
    static func open(_ e: Entry, _ settings: OplogSettings, chunk: Int) throws -> LogFile? {
        for path in [e.path] + settings.allPaths.reversed() {
            guard let f = try LogFile(path: path, chunk: chunk) else { continue }
            if f.inode == e.inode { return f }
            f.close()
        }
        return nil
    }

    private static let statusField = Array(#","status":"#.utf8)
    private static let timeField = Array(#"{"time":""#.utf8)

    /// The status a line records, read without decoding it (`,"status":` cannot occur inside a
    /// string, where every quote is escaped); nil when it is not there.
    static func status(_ line: UnsafeRawBufferPointer) -> Int? {
        guard let at = find(line, statusField) else { return nil }
        var v = 0
        var i = at + statusField.count
        while i < line.count, line[i] >= UInt8(ascii: "0"), line[i] <= UInt8(ascii: "9"), v < 1000 {
            v = v * 10 + Int(line[i] - UInt8(ascii: "0"))
            i += 1
        }
        return i > at + statusField.count ? v : nil
    }

    /// The `time` a line starts with (`OplogLine` writes it first, fixed width, so times compare
    /// as bytes); nil when the line does not start so.
    static func time(_ line: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        let width = 24  // 2026-11-29T14:00:00.000Z
        guard line.count >= timeField.count + width, timeField.indices.allSatisfy({ line[$0] == timeField[$0] })
        else { return nil }
        return UnsafeRawBufferPointer(rebasing: line[timeField.count..<(timeField.count + width)])
    }

    static func contains(_ hay: UnsafeRawBufferPointer, _ needle: [UInt8]) -> Bool { find(hay, needle) != nil }

    static func find(_ hay: UnsafeRawBufferPointer, _ needle: [UInt8]) -> Int? {
        needle.withUnsafeBytes { ByteSearch.find($0, in: hay) }
    }

    /// The line's last record: a line another writer's torn batch (a full disk) was glued to
    /// ends with a whole record, which starts at the line's last `{"time":"` (a sequence that
    /// cannot occur inside a string, where every quote is escaped).
    static func resynced(_ line: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        var at = 0
        while let next = find(UnsafeRawBufferPointer(rebasing: line[(at + 1)...]), timeField) {
            at += 1 + next
        }
        return at == 0 ? line : UnsafeRawBufferPointer(rebasing: line[at...])
    }

    /// One file of the log, open for reading up to its size when opened. Read with `pread` in
    /// chunks, not mapped: a file truncated under the reader (a logrotate `copytruncate`) or a disk
    /// error is an error or a short read here, never a SIGBUS in the worker answering the query.
    final class LogFile {
        let path: String
        let inode: UInt64
        /// Bytes up to the end of its last whole line (a batch being written may end in a part).
        private(set) var complete = 0
        /// Seconds since 1970 of its last change.
        let modified: Double
        private let fd: Int32
        /// Bytes read at a time.
        let chunk: Int

        init?(path: String, chunk: Int) throws {
            self.chunk = chunk
            let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                if errno == ENOENT { return nil }
                throw SystemCallError(call: "open \(path)", errno: errno)
            }
            self.fd = fd
            self.path = path
            var st = stat()
            if fstat(fd, &st) != 0 {
                let e = errno
                _ = Glibc.close(fd)
                throw SystemCallError(call: "fstat \(path)", errno: e)
            }
            inode = UInt64(st.st_ino)
            modified = Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9
            // The end of the last line: looked for at most a line's length back (past that, the
            // file ends in something too long for a record, skipped as such).
            let size = Int(st.st_size)
            var end = size
            var lastLineEnd: Int?
            while end > 0 && size - end < OplogReader.maxLine {
                let from = max(0, end - min(chunk, 65536), size - OplogReader.maxLine)
                let tail = try read(from, end - from)
                if let nl = tail.lastIndex(of: 0x0A) {
                    lastLineEnd = from + nl + 1
                    break
                }
                end = from
            }
            complete = lastLineEnd ?? (end > 0 ? size : 0)
        }

        deinit { close() }

        private var closed = false
        func close() {
            if !closed { _ = Glibc.close(fd) }
            closed = true
        }

        /// Up to `count` bytes at `offset` (fewer if the file shrank since it was opened).
        func read(_ offset: Int, _ count: Int) throws -> [UInt8] {
            var out = [UInt8](repeating: 0, count: count)
            var done = 0
            while done < count {
                let n = out.withUnsafeMutableBytes {
                    pread(fd, $0.baseAddress! + done, count - done, off_t(offset + done))
                }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw SystemCallError(call: "pread \(path)", errno: errno)
                }
                if n == 0 { break }
                done += n
            }
            out.removeLast(count - done)
            return out
        }

        /// FNV-1a of the first line: what tells this file from another that got its inode later.
        lazy var fingerprint: UInt64 = {
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for b in ((try? read(0, min(complete, 65536))) ?? []).prefix(while: { $0 != 0x0A }) {
                h = (h ^ UInt64(b)) &* 0x100_0000_01b3
            }
            return h
        }()

        /// Each whole line from `offset` on, with the offset just past its `\n`, until `body`
        /// returns false or `budget` bytes were read; the offset just past the last line it
        /// looked at. A line longer than `maxLine` is skipped.
        @discardableResult
        func linesForward(
            from offset: Int, budget: inout Int, _ body: (UnsafeRawBufferPointer, Int) -> Bool
        ) throws -> Int {
            var position = min(offset, complete)
            var reached = position
            // The start of a line whose end is in the next chunk.
            var carry: [UInt8] = []
            // In a line too long to be a record: its bytes are dropped up to its end.
            var skipping = false
            while position < complete && budget > 0 {
                let chunk = try read(position, min(chunk, complete - position))
                if chunk.isEmpty { break }
                budget -= chunk.count
                let buffer = carry.isEmpty ? chunk : carry + chunk
                let bufferStart = position - carry.count
                position += chunk.count
                var start = 0
                let more = buffer.withUnsafeBytes { b -> Bool in
                    while start < b.count, let nl = memchr(b.baseAddress! + start, 0x0A, b.count - start) {
                        let end = UnsafeRawPointer(nl) - b.baseAddress!
                        let line = UnsafeRawBufferPointer(rebasing: b[start..<end])
                        start = end + 1
                        reached = bufferStart + start
                        if skipping {
                            skipping = false
                            continue
                        }
                        if !line.isEmpty && !body(line, reached) { return false }
                    }
                    return true
                }
                if !more { break }
                carry = Array(buffer[start...])
                if carry.count > OplogReader.maxLine {
                    carry = []
                    skipping = true
                }
            }
            return reached
        }

        func linesForward(from offset: Int, _ body: (UnsafeRawBufferPointer, Int) -> Bool) throws {
            var budget = Int.max
            try linesForward(from: offset, budget: &budget, body)
        }

        /// Each whole line, newest first, until `body` returns false or `budget` bytes were
        /// read. A line longer than `maxLine` is skipped.
        func linesBackward(budget: inout Int, _ body: (UnsafeRawBufferPointer) -> Bool) throws {
            var end = complete
            // The end of a line (with its `\n`) whose start is in the chunk before.
            var carry: [UInt8] = []
            // In a line too long to be a record: its bytes are dropped back to its start.
            var skipping = false
            while end > 0 && budget > 0 {
                let from = max(0, end - chunk)
                let chunk = try read(from, end - from)
                guard chunk.count == end - from else { return }  // the file shrank
                budget -= chunk.count
                let buffer = carry.isEmpty ? chunk : chunk + carry
                end = from
                var stop = buffer.count - 1  // a line's `\n`
                if skipping {
                    guard let nl = buffer.lastIndex(of: 0x0A) else { continue }
                    stop = nl
                    skipping = false
                }
                let more = buffer.withUnsafeBytes { b -> Bool in
                    while stop >= 0 {
                        var start = stop
                        while start > 0 && b[start - 1] != 0x0A { start -= 1 }
                        // A line reaching the chunk's start may begin in the chunk before.
                        if start == 0 && from > 0 { return true }
                        let line = UnsafeRawBufferPointer(rebasing: b[start..<stop])
                        stop = start - 1
                        if !line.isEmpty && !body(line) { return false }
                    }
                    return true
                }
                if !more { return }
                carry = stop >= 0 ? Array(buffer[0...stop]) : []
                if carry.count > OplogReader.maxLine {
                    carry = []
                    skipping = true
                }
            }
        }

        func linesBackward(_ body: (UnsafeRawBufferPointer) -> Bool) throws {
            var budget = Int.max
            try linesBackward(budget: &budget, body)
        }
    }
}
