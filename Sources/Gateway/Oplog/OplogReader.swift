import Foundation
import GatewayCore

#if canImport(Glibc)
    import Glibc
#endif

/// Answers queries over the operations log: the current file and the rotated ones, oldest
/// first. The files are opened under a shared `flock` on the log's lock file, so no rotation
/// renames them while the list is taken; once open, a rotation no longer matters (a file keeps
/// its inode and its bytes). Each file is mapped, not read: a query for the newest records walks
/// back from the end and stops when it has them; lines that cannot match a filter are skipped
/// by a byte search before any is decoded.
public enum OplogReader {
    public static func read(_ settings: OplogSettings, _ query: OplogQuery) throws -> OplogPage {
        let files = try open(settings)
        defer { for f in files { f.close() } }
        let decoder = AdminJSON.decoder
        let needles = query.needles
        let since = query.since.map { Array(HTTPDate.iso8601($0).utf8) }
        func record(_ line: UnsafeRawBufferPointer) -> OplogRecord? {
            for n in needles where !contains(line, n) { return nil }
            if query.errors, let status = status(line), status < 400 { return nil }
            if let since, let time = time(line), time.lexicographicallyPrecedes(since) { return nil }
            guard let r = try? decoder.decode(OplogRecord.self, from: Data(line)), query.matches(r) else {
                return nil
            }
            return r
        }
        // Where a follower continues from: after the last whole line of the newest file holding one.
        let end = files.last { $0.complete > 0 }.map {
            OplogCursor(inode: $0.inode, offset: $0.complete, fingerprint: $0.fingerprint)
        }
        // A file last written before `since` holds no record started after it.
        func mayHold(_ f: LogFile) -> Bool { query.since.map { f.modified >= $0 } ?? true }
        guard let after = query.after else {
            var newest: [OplogRecord] = []
            search: for f in files.reversed() where mayHold(f) {
                f.linesBackward { line in
                    if let r = record(line) { newest.append(r) }
                    return newest.count < query.limit
                }
                if newest.count >= query.limit { break search }
            }
            return OplogPage(records: newest.reversed(), next: end)
        }
        // The cursor's file, or (rotated away since) the oldest there is.
        let start = files.firstIndex {
            $0.inode == after.inode && $0.fingerprint == after.fingerprint && $0.complete >= after.offset
        }
        var records: [OplogRecord] = []
        for (i, f) in files.enumerated() where i >= (start ?? 0) && (mayHold(f) || i == start) {
            var last: OplogCursor?
            f.linesForward(from: i == start ? after.offset : 0) { line, endOffset in
                guard let r = record(line) else { return true }
                records.append(r)
                last = OplogCursor(inode: f.inode, offset: endOffset, fingerprint: f.fingerprint)
                return records.count < query.limit
            }
            if records.count >= query.limit { return OplogPage(records: records, next: last) }
        }
        return OplogPage(records: records, next: end ?? after)
    }

    /// The log's files that exist, oldest first, each open and mapped.
    static func open(_ settings: OplogSettings) throws -> [LogFile] {
        let lock = Glibc.open(settings.path + ".lock", O_RDONLY | O_CLOEXEC)
        if lock >= 0 {
            _ = try? systemCall("flock \(settings.path).lock") { flock(lock, LOCK_SH) }
        }
        defer { if lock >= 0 { _ = Glibc.close(lock) } }
        var files: [LogFile] = []
        for path in settings.allPaths {
            guard let f = try LogFile(path: path) else { continue }
            // The same file under two names (a rotation by hand while the lock was not taken).
            if files.contains(where: { $0.inode == f.inode }) {
                f.close()
                continue
            }
            files.append(f)
        }
        return files
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

    /// Where `needle` first occurs in `hay` (memchr for its first byte, then memcmp); nil when it does not.
    static func find(_ hay: UnsafeRawBufferPointer, _ needle: [UInt8]) -> Int? {
        guard let first = needle.first else { return 0 }
        guard let base = hay.baseAddress, needle.count <= hay.count else { return nil }
        let last = hay.count - needle.count
        return needle.withUnsafeBytes { n in
            var i = 0
            while i <= last {
                guard let p = memchr(base + i, Int32(first), last - i + 1) else { return nil }
                let at = UnsafeRawPointer(p) - base
                if memcmp(p, n.baseAddress!, n.count) == 0 { return at }
                i = at + 1
            }
            return nil
        }
    }

    /// One file of the log, mapped read-only up to its size when opened.
    final class LogFile {
        let inode: UInt64
        /// Bytes up to the end of its last whole line (a batch being written may end in a part).
        let complete: Int
        /// Seconds since 1970 of its last change.
        let modified: Double
        private let base: UnsafeRawPointer?
        private let size: Int

        init?(path: String) throws {
            let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                if errno == ENOENT { return nil }
                throw SystemCallError(call: "open \(path)", errno: errno)
            }
            defer { _ = Glibc.close(fd) }
            var st = stat()
            try systemCall("fstat \(path)") { fstat(fd, &st) }
            inode = UInt64(st.st_ino)
            modified = Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9
            size = Int(st.st_size)
            if size > 0 {
                let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
                guard let p, p != MAP_FAILED else { throw SystemCallError(call: "mmap \(path)", errno: errno) }
                base = UnsafeRawPointer(p)
            } else {
                base = nil
            }
            var end = size
            if let base {
                while end > 0 && base.load(fromByteOffset: end - 1, as: UInt8.self) != 0x0A { end -= 1 }
            }
            complete = end
        }

        func close() {
            if let base { munmap(UnsafeMutableRawPointer(mutating: base), size) }
        }

        var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: complete) }

        /// FNV-1a of the first line: what tells this file from another that got its inode later.
        lazy var fingerprint: UInt64 = {
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for b in bytes.prefix(while: { $0 != 0x0A }) {
                h = (h ^ UInt64(b)) &* 0x100_0000_01b3
            }
            return h
        }()

        /// Each whole line from `offset` on, with the offset just past its `\n`, until `body`
        /// returns false.
        func linesForward(from offset: Int, _ body: (UnsafeRawBufferPointer, Int) -> Bool) {
            let all = bytes
            var start = min(offset, all.count)
            while start < all.count {
                var end = start
                while all[end] != 0x0A { end += 1 }
                let line = UnsafeRawBufferPointer(rebasing: all[start..<end])
                start = end + 1
                if !line.isEmpty && !body(line, start) { return }
            }
        }

        /// Each whole line, newest first, until `body` returns false.
        func linesBackward(_ body: (UnsafeRawBufferPointer) -> Bool) {
            let all = bytes
            var end = all.count - 1  // the last line's `\n`
            while end > 0 {
                var start = end
                while start > 0 && all[start - 1] != 0x0A { start -= 1 }
                let line = UnsafeRawBufferPointer(rebasing: all[start..<end])
                end = start - 1
                if !line.isEmpty && !body(line) { return }
            }
        }
    }
}
