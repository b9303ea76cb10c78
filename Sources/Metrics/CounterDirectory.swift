#if canImport(Glibc)
    import Glibc
#endif

/// `<state_dir>/metrics/`: one counter file per process (`*.m`), and `retired.m`, the sum of the
/// files of processes that ended. A scrape sums them all; the supervisor folds a finished
/// process's file into `retired.m` (after reaping it, at start, and every minute). `.lock` keeps
/// the two apart: a scrape holds it shared, a fold exclusive, so a scrape never sees a file's
/// values twice (in the new `retired.m` and in the file not yet removed) nor not at all.
///
/// `retired.m` is text: `s3gw-retired 1`, then `merged <file>` for the files its values include
/// that may still exist (a fold that crashed between writing it and removing them: they are
/// skipped by scrapes and removed by the next fold, never added twice), then `<value> <key>`.
public struct CounterDirectory: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    public static let retiredName = "retired.m"
    static let lockName = ".lock"

    /// This process's counter file (the directory and its lock file are created if needed, 0700
    /// and 0600: by the gateway's own processes, never by a reader such as a CLI command run as
    /// another user).
    public func create(kind: String, capacity: Int = CounterFile.defaultCapacity) throws(MetricsError) -> CounterFile {
        try makeDirectory()
        return try CounterFile(directory: path, kind: kind, capacity: capacity)
    }

    private func makeDirectory() throws(MetricsError) {
        if mkdir(path, 0o700) != 0 && errno != EEXIST { throw MetricsError("mkdir \(path)") }
        let fd = open("\(path)/\(Self.lockName)", O_RDONLY | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw MetricsError("open \(path)/\(Self.lockName)") }
        close(fd)
    }

    /// Every series summed over all files: counters and histograms over every process that ran
    /// (retired ones included), live gauges over the running processes only.
    public func collect() throws(MetricsError) -> [String: UInt64] {
        // No lock file: no process of the gateway ever counted here.
        guard access("\(path)/\(Self.lockName)", F_OK) == 0 else { return [:] }
        return try locked(LOCK_SH) { () throws(MetricsError) in
            let retired = readRetired()
            var sum = retired.values
            for name in counterFiles() where !retired.merged.contains(name) {
                let fd = open("\(path)/\(name)", O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { continue }  // gone since listed
                defer { close(fd) }
                // Its owner holds LOCK_EX while it runs: getting a shared lock means it ended.
                let live = flock(fd, LOCK_SH | LOCK_NB) != 0
                guard let entries = CounterFile.entries(fd: fd) else { continue }
                for (key, value) in entries where live || !SeriesKey.isLive(key) {
                    sum[key, default: 0] &+= value
                }
            }
            return sum
        }
    }

    /// Folds the files of processes that ended into `retired.m` and removes them; returns how
    /// many. Crash-safe: `retired.m` is replaced whole (written, synced, renamed) before any file
    /// it now includes is removed, and it names those files until they are gone.
    @discardableResult
    public func foldFinished() throws(MetricsError) -> Int {
        try makeDirectory()
        return try locked(LOCK_EX) { () throws(MetricsError) in
            let retired = readRetired()
            var values = retired.values
            var folded: [String] = []
            var held: [Int32] = []
            defer { for fd in held { close(fd) } }
            for name in counterFiles() where !retired.merged.contains(name) {
                let fd = open("\(path)/\(name)", O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { continue }
                guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
                    close(fd)
                    continue  // its process runs
                }
                held.append(fd)
                for (key, value) in CounterFile.entries(fd: fd) ?? [] where !SeriesKey.isLive(key) {
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
            removeAbandonedTemporaries()
            return folded.count
        }
    }

    // MARK: files

    private func counterFiles() -> [String] {
        listDirectory().filter { $0.hasSuffix(".m") && !$0.hasPrefix(".") && $0 != Self.retiredName }
    }

    private func listDirectory() -> [String] {
        guard let dir = opendir(path) else { return [] }
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

    /// `.<name>.new` files of processes that died while creating theirs (unlocked: not in progress).
    private func removeAbandonedTemporaries() {
        for name in listDirectory() where name.hasPrefix(".") && name.hasSuffix(".new") {
            let fd = open("\(path)/\(name)", O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { continue }
            if flock(fd, LOCK_EX | LOCK_NB) == 0 { unlink("\(path)/\(name)") }
            close(fd)
        }
    }

    private func locked<T>(_ operation: Int32, _ body: () throws(MetricsError) -> T) throws(MetricsError) -> T {
        let fd = open("\(path)/\(Self.lockName)", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw MetricsError("open \(path)/\(Self.lockName)") }
        defer { close(fd) }
        while flock(fd, operation) != 0 {
            guard errno == EINTR else { throw MetricsError("flock \(path)/\(Self.lockName)") }
        }
        return try body()
    }

    // MARK: retired.m

    struct Retired {
        var values: [String: UInt64] = [:]
        var merged: Set<String> = []
    }

    func readRetired() -> Retired {
        var retired = Retired()
        guard let text = readFile("\(path)/\(Self.retiredName)") else { return retired }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true)[...]
        guard lines.first == "s3gw-retired 1" else { return retired }
        lines = lines.dropFirst()
        for line in lines {
            guard let space = line.firstIndex(of: " ") else { continue }
            let head = line[..<space]
            let rest = String(line[line.index(after: space)...])
            if head == "merged" {
                retired.merged.insert(rest)
            } else if let value = UInt64(head) {
                retired.values[rest, default: 0] &+= value
            }
        }
        return retired
    }

    private func writeRetired(values: [String: UInt64], merged: [String]) throws(MetricsError) {
        var text = "s3gw-retired 1\n"
        for name in merged { text += "merged \(name)\n" }
        for (key, value) in values.sorted(by: { $0.key < $1.key }) { text += "\(value) \(key)\n" }
        let temporary = "\(path)/.retired.tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw MetricsError("open \(temporary)") }
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let e = MetricsError("write \(temporary)")
                close(fd)
                throw e
            }
            written += n
        }
        guard fsync(fd) == 0 else {
            let e = MetricsError("fsync \(temporary)")
            close(fd)
            throw e
        }
        close(fd)
        guard rename(temporary, "\(path)/\(Self.retiredName)") == 0 else { throw MetricsError("rename \(temporary)") }
        let dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dir >= 0 {
            fsync(dir)
            close(dir)
        }
    }

    private func readFile(_ file: String) -> String? {
        let fd = open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            out.append(contentsOf: buf[..<n])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
