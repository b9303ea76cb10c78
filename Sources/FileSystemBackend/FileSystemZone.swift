import GatewayCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A zone in a local directory. Blobs are named by random ids, never by keys, so any key is
/// safe; writes go to `tmp/` and are renamed into place only after fsync.
///
///     <root>/tmp/<host>@<pid>-<id>                uploads in flight (removed when a worker dies)
///     <root>/buckets/<backend bucket>/<id[0..2]>/<id>
public struct FileSystemZone: AcceleratedZone {
    public let name: String
    public let root: String
    /// Blobs of at least this many bytes (as announced to `beginWrite`) are written with direct
    /// I/O (`FileBlobWriter+Direct`); nil: never.
    public let directWriteMinSize: Int64?

    public init(name: String, root: String, directWriteMinSize: Int64? = nil) throws(StoreError) {
        self.name = name
        self.root = root
        self.directWriteMinSize = directWriteMinSize
        try makeDirectories(root + "/tmp")
        try makeDirectories(root + "/buckets")
    }

    var tmpDir: String { root + "/tmp" }

    /// The host id this process's temp files carry ("" until set: no tag). Several hosts share
    /// a zone's `tmp/` (docs/HOSTS.md) and pids repeat across machines: a host removes only its
    /// own processes' files.
    private static let host = Mutex<String>("")

    /// Set once as a process starts (`[server] host_id`); '@' never occurs in a host id.
    public static func setHost(_ id: String) { host.withLock { $0 = id } }

    /// How this process's (or `pid`'s, of this host) temp files begin.
    static func temporaryPrefix(_ pid: Int32) -> String {
        let h = host.withLock { $0 }
        return h.isEmpty ? "\(pid)-" : "\(h)@\(pid)-"
    }

    /// `<root>/buckets/<bucket>`, with room for `extra` more bytes, so a path under it grows in
    /// the same allocation.
    func bucketDir(_ backendBucket: String, reserving extra: Int = 0) -> String {
        var path = root
        path.reserveCapacity(root.utf8.count + 9 + backendBucket.utf8.count + extra)
        path += "/buckets/"
        path += backendBucket
        return path
    }

    func blobPath(_ backendBucket: String, _ blob: String) throws(StoreError) -> String {
        // Blob ids are ours (hex); anything else in metadata is corruption, not a path to follow.
        guard isBlobId(blob) else {
            throw .internalFailure("invalid blob id \(blob)")
        }
        // One allocation, grown in place: every read and write of a blob makes this path.
        var path = bucketDir(backendBucket, reserving: 4 + blob.utf8.count)
        path += "/"
        path += blob.prefix(2)
        path += "/"
        path += blob
        return path
    }

    /// Relative to `<root>/buckets/`, the directory nginx's internal location for this zone
    /// aliases (`s3gw nginx-locations`).
    public func acceleratedPath(backendBucket: String, blob: String) -> String? {
        // As `blobPath`; and backend bucket names are ours ("s3gw-" + hex): a "/" or a leading
        // "." would be metadata naming a path outside the location.
        guard isBlobId(blob), !backendBucket.isEmpty, !backendBucket.contains("/"), !backendBucket.hasPrefix(".")
        else { return nil }
        return backendBucket + "/" + blob.prefix(2) + "/" + blob
    }

    public func createBucket(_ backendBucket: String) throws(StoreError) {
        try makeDirectories(bucketDir(backendBucket))
    }

    public func deleteBucket(_ backendBucket: String) throws(StoreError) {
        let dir = bucketDir(backendBucket)
        // No metadata references anything here any more; what remains (parts of uploads that
        // went with the bucket) is garbage. Two levels: fan-out directories, then blobs.
        for sub in entries(of: dir) {
            let subPath = dir + "/" + sub
            for blob in entries(of: subPath) {
                let path = subPath + "/" + blob
                try syscall("unlink \(path)", tolerating: [ENOENT]) { unlink(path) }
            }
            try syscall("rmdir \(subPath)", tolerating: [ENOENT]) { rmdir(subPath) }
        }
        try syscall("rmdir \(dir)", tolerating: [ENOENT]) { rmdir(dir) }
    }

    private func entries(of dir: String) -> [String] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let entry = readdir(d) {
            let n = withUnsafeBytes(of: entry.pointee.d_name) {
                String(cString: $0.bindMemory(to: CChar.self).baseAddress!)
            }
            if n != "." && n != ".." { names.append(n) }
        }
        return names
    }

    public func beginWrite(backendBucket: String, length: Int64?) throws(StoreError) -> any BlobWriter {
        let direct = directWriteMinSize.map { min in (length ?? 0) >= min } ?? false
        return try FileBlobWriter(zone: self, backendBucket: backendBucket, direct: direct)
    }

    public func open(backendBucket: String, blob: String, offset: Int64, length: Int64?) throws(StoreError)
        -> any BlobReader
    {
        try openFile(try blobPath(backendBucket, blob), offset: offset, length: length)
    }

    /// The file at `path` as a reader of `length` bytes from `offset` (to its end when nil).
    func openFile(_ path: String, offset: Int64, length: Int64?) throws(StoreError) -> any BlobReader {
        let fd = try syscall("open \(path)") { Glibc.open(path, O_RDONLY | O_CLOEXEC) }
        var st = stat()
        do {
            try syscall("fstat \(path)") { fstat(fd, &st) }
        } catch {
            close(fd)
            throw error
        }
        let total = Int64(st.st_size)
        let len = length ?? (total - offset)
        return FileBlobReader(fd: fd, offset: offset, length: max(0, min(len, total - offset)))
    }

    public func deleteBlob(backendBucket: String, blob: String) throws(StoreError) {
        let path = try blobPath(backendBucket, blob)
        try syscall("unlink \(path)", tolerating: [ENOENT]) { unlink(path) }
    }

    /// The directory must be there and writable: a file is created, synced and removed.
    public func probe() throws(StoreError) -> Double {
        var t0 = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t0)
        let w = try FileBlobWriter(zone: self, backendBucket: "")
        w.abort()
        var t1 = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t1)
        return Double(t1.tv_sec - t0.tv_sec) + Double(t1.tv_nsec - t0.tv_nsec) / 1e9
    }

    // MARK: what the zone holds

    public func listBlobs(backendBucket: String, after: String, limit: Int) throws(StoreError) -> [StoredBlob] {
        guard limit > 0 else { return [] }
        let dir = bucketDir(backendBucket)
        // Ids sort within their fan-out directory (named by their first two characters), and
        // the directories sort among themselves: walk them in order from the one `after` is in.
        let fanouts = try listDirectory(dir).filter(isFanout)
            .sorted(by: byteOrder)
        var page: [StoredBlob] = []
        for sub in fanouts where !byteOrder(sub, String(after.prefix(2))) {
            let subPath = dir + "/" + sub
            let ids = try listDirectory(subPath).filter { isBlobId($0) && $0.hasPrefix(sub) && byteOrder(after, $0) }
                .sorted(by: byteOrder)
            for id in ids {
                // Deleted since the directory was read: not there any more.
                guard let st = try status(subPath + "/" + id), st.st_mode & S_IFMT == S_IFREG else { continue }
                page.append(stored(id, st))
                if page.count == limit { return page }
            }
        }
        return page
    }

    public func blobInfo(backendBucket: String, blob: String) throws(StoreError) -> StoredBlob? {
        guard let st = try status(try blobPath(backendBucket, blob)), st.st_mode & S_IFMT == S_IFREG else { return nil }
        return stored(blob, st)
    }

    public func listBackendBuckets() throws(StoreError) -> [String] {
        let dir = root + "/buckets"
        var names: [String] = []
        for name in try listDirectory(dir) {
            if let st = try status(dir + "/" + name), st.st_mode & S_IFMT == S_IFDIR { names.append(name) }
        }
        return names.sorted(by: byteOrder)
    }

    /// The names in a directory; a missing directory is empty, any other failure is an error
    /// (an audit must not mistake an unreadable directory for an empty one).
    /// The names in `dir`; none when it is missing (or, `orFile`, a file).
    func listDirectory(_ dir: String, orFile: Bool = false) throws(StoreError) -> [String] {
        guard let d = opendir(dir) else {
            if errno == ENOENT || (orFile && errno == ENOTDIR) { return [] }
            throw .internalFailure("opendir \(dir): \(String(cString: strerror(errno)))")
        }
        defer { closedir(d) }
        var names: [String] = []
        while true {
            errno = 0
            guard let entry = readdir(d) else {
                if errno != 0 { throw .internalFailure("readdir \(dir): \(String(cString: strerror(errno)))") }
                return names
            }
            let n = withUnsafeBytes(of: entry.pointee.d_name) {
                String(cString: $0.bindMemory(to: CChar.self).baseAddress!)
            }
            if n != "." && n != ".." { names.append(n) }
        }
    }

    /// lstat; nil when the path does not exist.
    private func status(_ path: String) throws(StoreError) -> stat? {
        var st = stat()
        if lstat(path, &st) == 0 { return st }
        if errno == ENOENT || errno == ENOTDIR { return nil }
        throw .internalFailure("lstat \(path): \(String(cString: strerror(errno)))")
    }

    private func stored(_ id: String, _ st: stat) -> StoredBlob {
        StoredBlob(
            id: id, size: Int64(st.st_size), etag: nil,
            lastModified: Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9)
    }

    /// Removes what a dead worker of this host left in `tmp/` (its files are prefixed with the
    /// host and its pid); `pid` nil: every file of this host's processes, and the untagged ones
    /// a gateway from before host tags left (at the start of the supervisor) — those only once
    /// untouched for `untaggedAge`: during a rolling upgrade a host of the old version still
    /// writes untagged files into the shared zone, and its uploads in flight are not ours.
    public func removeTemporaries(ofProcess pid: Int32?, now: Double = Double(time(nil))) {
        let mine = Self.temporaryPrefix(0).dropLast(2)  // "<host>@" or ""
        for n in entries(of: tmpDir) {
            let path = tmpDir + "/" + n
            let remove =
                pid.map { n.hasPrefix(Self.temporaryPrefix($0)) }
                ?? (n.hasPrefix(mine)
                    || (!n.contains("@")
                        && ((try? status(path)).map { now - Double($0.st_mtim.tv_sec) > Self.untaggedAge } ?? false)))
            if remove { _ = unlink(path) }
        }
    }

    /// How long an untagged temp file is left alone (a day: an upload of an old-version host
    /// touches its file as bytes arrive, however slow).
    public static let untaggedAge: Double = 86_400
}

/// A blob fan-out directory's name: two hex digits.
func isFanout(_ name: some StringProtocol) -> Bool { name.utf8.count == 2 && name.utf8.allSatisfy(isHexDigit) }

func isHexDigit(_ c: UInt8) -> Bool {
    (c >= 48 && c <= 57) || (c >= 97 && c <= 102)
}

private func isBlobId(_ name: String) -> Bool {
    name.utf8.count >= 3 && name.utf8.allSatisfy(isHexDigit)
}

/// S3's order for keys: by UTF-8 bytes.
private func byteOrder(_ a: String, _ b: String) -> Bool {
    a.utf8.lexicographicallyPrecedes(b.utf8)
}
