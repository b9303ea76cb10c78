import GatewayCore

#if canImport(Glibc)
    import Glibc
#endif

/// `<state_dir>/metrics/`: one counter file per process (`*.m`), and `retired.m`, the sum of the
/// files of processes that ended. A scrape sums them all; the supervisor folds a finished
/// process's file into `retired.m` (after reaping it, at start, and every minute). `.lock` keeps
/// the two apart: a scrape holds it shared, a fold exclusive, so a scrape never sees a file's
/// values twice (in the new `retired.m` and in the file not yet removed) nor not at all.
///
/// `retired.m` is text: `s3gw-retired 2`, then `merged <file>` for the files its values include
/// that may still exist (a fold that crashed between writing it and removing them: they are
/// skipped by scrapes and removed by the next fold, never added twice), then `<value> <key>`.
public struct CounterDirectory: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    public static let retiredName = "retired.m"
    static let lockName = ".lock"
    /// 2: histogram keys name their bucket's bound (1: its index).
    static let retiredHeader = "s3gw-retired 2"
    /// A counter file a fold could not read (not a counter file) or a `retired.m` it could not
    /// parse is renamed with this suffix: out of the sums, kept for the operator.
    static let badSuffix = ".bad"

    /// This process's counter file (the directory and its lock file are created if needed, 0700
    /// and 0600: by the gateway's own processes, never by a reader such as a CLI command run as
    /// another user). `.lock` is held shared from its creation until it has its name, so a fold
    /// (exclusive) never takes its temporary for an abandoned one.
    public func create(kind: String, capacity: Int = CounterFile.defaultCapacity) throws -> CounterFile {
        try makeDirectory()
        return try locked(LOCK_SH) { () throws(SystemCallError) in
            try CounterFile(directory: path, kind: kind, capacity: capacity)
        }
    }

    private func makeDirectory() throws(SystemCallError) {
        try systemCall("mkdir \(path)", tolerating: [EEXIST]) { mkdir(path, 0o700) }
        let lock = "\(path)/\(Self.lockName)"
        let fd = try systemCall("open \(lock)") { open(lock, O_RDONLY | O_CREAT | O_CLOEXEC, 0o600) }
        close(fd)
    }

    /// Every series summed over all files: counters and histograms over every process that ran
    /// (retired ones included), live gauges over the running processes only. Throws when a file
    /// could not be read (a sum without it would be wrong, not empty), or `retired.m` is corrupt.
    public func collect() throws -> [String: UInt64] {
        // No lock file: no process of the gateway ever counted here. Anything else (EACCES) is
        // an error, not zeros.
        let lock = "\(path)/\(Self.lockName)"
        guard try systemCall("access \(lock)", tolerating: [ENOENT], { access(lock, F_OK) }) == 0 else { return [:] }
        return try locked(LOCK_SH) { () throws in
            let retired = try readRetired()
            var sum = retired.values
            for name in try counterFiles() where !retired.merged.contains(name) {
                guard let fd = try openCounterFile(name) else { continue }  // gone since listed
                defer { close(fd) }
                // Its owner holds LOCK_EX while it runs: getting a shared lock means it ended.
                let live = flock(fd, LOCK_SH | LOCK_NB) != 0
                guard let entries = try CounterFile.entries(fd: fd, name: name) else { continue }
                for (key, value) in entries where live || !SeriesKey.isLive(key) {
                    sum[key, default: 0] &+= value
                }
            }
            return sum
        }
    }

    /// Folds the files of processes that ended into `retired.m` and removes them; returns how
    /// many. Crash-safe: `retired.m` is replaced whole (written, synced, renamed) before any file
    /// it now includes is removed, and it names those files until they are gone. A file that
    /// could not be read is left for the next fold; one that is no counter file is renamed
    /// `.bad`. A corrupt `retired.m` is renamed `retired.m.bad` and the error thrown: the
    /// counters restart from what the files hold (Prometheus sees a counter reset).
    @discardableResult
    public func foldFinished() throws -> Int {
        try makeDirectory()
        return try locked(LOCK_EX) { () throws in
            let retired: Retired
            do {
                retired = try readRetired()
            } catch let error as RetiredFileCorrupt {
                let file = "\(path)/\(Self.retiredName)"
                try systemCall("rename \(file)") { rename(file, file + Self.badSuffix) }
                throw error
            }
            var values = retired.values
            var folded: [String] = []
            var held: [Int32] = []
            defer { for fd in held { close(fd) } }
            for name in try counterFiles() where !retired.merged.contains(name) {
                guard let fd = try openCounterFile(name) else { continue }
                guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
                    close(fd)
                    continue  // its process runs
                }
                held.append(fd)
                let entries: [(key: String, value: UInt64)]?
                do {
                    entries = try CounterFile.entries(fd: fd, name: name)
                } catch {
                    continue  // unreadable now: its counts stay in it for the next fold
                }
                guard let entries else {
                    rename("\(path)/\(name)", "\(path)/\(name)\(Self.badSuffix)")
                    continue
                }
                for (key, value) in entries where !SeriesKey.isLive(key) {
                    values[key, default: 0] &+= value
                }
                folded.append(name)
            }
            // Files an earlier fold included but did not get to remove.
            let leftovers = retired.merged.filter { access("\(path)/\($0)", F_OK) == 0 }
            if !folded.isEmpty {
                try writeRetired(values: values, merged: leftovers + folded)
            }
            for name in leftovers + folded { unlink("\(path)/\(name)") }
            try removeAbandonedTemporaries()
            return folded.count
        }
    }

    // MARK: files

    /// The file opened, or nil when it is gone (ENOENT); other failures throw.
    private func openCounterFile(_ name: String) throws(SystemCallError) -> Int32? {
        let file = "\(path)/\(name)"
        let fd = try systemCall("open \(file)", tolerating: [ENOENT]) { open(file, O_RDONLY | O_CLOEXEC) }
        return fd >= 0 ? fd : nil
    }

    private func counterFiles() throws(SystemCallError) -> [String] {
        try listDirectory().filter { $0.hasSuffix(".m") && !$0.hasPrefix(".") && $0 != Self.retiredName }
    }

    private func listDirectory() throws(SystemCallError) -> [String] {
        guard let dir = opendir(path) else {
            if errno == ENOENT { return [] }
            throw SystemCallError(call: "opendir \(path)", errno: errno)
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// `.<name>.new` files of processes that died while creating theirs. Called with `.lock`
    /// held exclusive: a creator holds it shared until its file has its name, so every
    /// temporary seen here is abandoned.
    private func removeAbandonedTemporaries() throws(SystemCallError) {
        for name in try listDirectory() where name.hasPrefix(".") && name.hasSuffix(".new") {
            unlink("\(path)/\(name)")
        }
    }

    private func locked<T, E: Error>(_ operation: Int32, _ body: () throws(E) -> T) throws -> T {
        let lock = "\(path)/\(Self.lockName)"
        let fd = try systemCall("open \(lock)") { open(lock, O_RDONLY | O_CLOEXEC) }
        defer { close(fd) }
        try systemCall("flock \(lock)") { flock(fd, operation) }
        return try body()
    }

    // MARK: retired.m

    struct Retired {
        var values: [String: UInt64] = [:]
        var merged: Set<String> = []
    }

    /// Throws `RetiredFileCorrupt` for a file that is not what `writeRetired` writes (every line
    /// parsed): read as empty, the next fold would replace it and lose what it held.
    func readRetired() throws -> Retired {
        var retired = Retired()
        let file = "\(path)/\(Self.retiredName)"
        guard let text = try readFile(file) else { return retired }
        guard text.hasSuffix("\n") else { throw RetiredFileCorrupt(path: file, line: "(no final newline)") }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true)[...]
        guard lines.first == Substring(Self.retiredHeader) else {
            throw RetiredFileCorrupt(path: file, line: lines.first ?? "")
        }
        lines = lines.dropFirst()
        for line in lines {
            guard let space = line.firstIndex(of: " ") else { throw RetiredFileCorrupt(path: file, line: line) }
            let head = line[..<space]
            let rest = String(line[line.index(after: space)...])
            if head == "merged" {
                retired.merged.insert(rest)
            } else if let value = UInt64(head) {
                retired.values[rest, default: 0] &+= value
            } else {
                throw RetiredFileCorrupt(path: file, line: line)
            }
        }
        return retired
    }

    private func writeRetired(values: [String: UInt64], merged: [String]) throws(SystemCallError) {
        var text = Self.retiredHeader + "\n"
        for name in merged { text += "merged \(name)\n" }
        for (key, value) in values.sorted(by: { $0.key < $1.key }) { text += "\(value) \(key)\n" }
        let temporary = "\(path)/.retired.tmp"
        let fd = try systemCall("open \(temporary)") {
            open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        }
        do throws(SystemCallError) {
            let bytes = Array(text.utf8)
            var written = 0
            while written < bytes.count {
                written += try systemCall("write \(temporary)") {
                    bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                }
            }
            try systemCall("fsync \(temporary)") { fsync(fd) }
        } catch {
            close(fd)
            throw error
        }
        close(fd)
        try systemCall("rename \(temporary)") { rename(temporary, "\(path)/\(Self.retiredName)") }
        let dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dir >= 0 {
            fsync(dir)
            close(dir)
        }
    }

    /// The file's text, or nil when it does not exist.
    private func readFile(_ file: String) throws(SystemCallError) -> String? {
        let fd = try systemCall("open \(file)", tolerating: [ENOENT]) { open(file, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = try systemCall("read \(file)") { buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) } }
            guard n > 0 else { break }
            out.append(contentsOf: buf[..<n])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// `retired.m` is not what a fold writes.
public struct RetiredFileCorrupt: Error, CustomStringConvertible {
    public let path: String
    public let line: Substring
    public var description: String { "\(path) is corrupt (at \"\(line.prefix(80))\"); a fold renames it \(path).bad" }
}
