import GatewayCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A zone in a local directory. Blobs are named by random ids, never by keys, so any key is
/// safe; writes go to `tmp/` and are renamed into place only after fsync.
///
///     <root>/tmp/<pid>-<id>                       uploads in flight (removed when a worker dies)
///     <root>/buckets/<backend bucket>/<id[0..2]>/<id>
public struct FileSystemZone: StorageZone {
    public let name: String
    public let root: String

    public init(name: String, root: String) throws(StoreError) {
        self.name = name
        self.root = root
        try makeDirectories(root + "/tmp")
        try makeDirectories(root + "/buckets")
    }

    var tmpDir: String { root + "/tmp" }

    func bucketDir(_ backendBucket: String) -> String { root + "/buckets/" + backendBucket }

    func blobPath(_ backendBucket: String, _ blob: String) throws(StoreError) -> String {
        // Blob ids are ours (hex); anything else in metadata is corruption, not a path to follow.
        guard blob.count >= 3, blob.utf8.allSatisfy({ isHexDigit($0) }) else {
            throw .internalFailure("invalid blob id \(blob)")
        }
        return bucketDir(backendBucket) + "/" + blob.prefix(2) + "/" + blob
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
        try FileBlobWriter(zone: self, backendBucket: backendBucket)
    }

    public func open(backendBucket: String, blob: String, offset: Int64, length: Int64?) throws(StoreError)
        -> any BlobReader
    {
        let path = try blobPath(backendBucket, blob)
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

    /// Removes what a dead worker left in `tmp/` (its files are prefixed with its pid).
    public func removeTemporaries(ofProcess pid: Int32?) {
        for n in entries(of: tmpDir) where pid.map({ n.hasPrefix("\($0)-") }) ?? true {
            _ = unlink(tmpDir + "/" + n)
        }
    }
}

private func isHexDigit(_ c: UInt8) -> Bool {
    (c >= 48 && c <= 57) || (c >= 97 && c <= 102)
}
