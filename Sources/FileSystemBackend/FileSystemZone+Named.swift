import GatewayCore

#if canImport(Glibc)
    import Glibc
#endif

/// Named objects live at `buckets/<backend bucket>/<name>`, the name's `/` as directories, beside
/// the blobs' two-hex-digit fan-out directories (a name may not start with such a component).
/// Written like blobs: temp file, fsync, rename, fsync of the directory.
extension FileSystemZone: NamedObjectZone {
    func namedPath(_ backendBucket: String, _ name: String) throws(StoreError) -> String {
        let first = name.split(separator: "/").first.map(String.init) ?? ""
        guard ObjectName.isValid(name), !isFanout(first) else {
            throw .internalFailure("invalid object name \(name)")
        }
        return bucketDir(backendBucket) + "/" + name
    }

    public func beginNamedWrite(backendBucket: String, name: String, length: Int64?) throws(StoreError)
        -> any BlobWriter
    {
        try FileBlobWriter(zone: self, backendBucket: backendBucket, named: (try namedPath(backendBucket, name), name))
    }

    public func openNamed(backendBucket: String, name: String) throws(StoreError) -> any BlobReader {
        try openFile(try namedPath(backendBucket, name), offset: 0, length: nil)
    }

    public func listNamed(backendBucket: String, prefix: String, after: String, limit: Int) throws(StoreError)
        -> [StoredBlob]
    {
        // Walk only below the directory the prefix names.
        let base = prefix.lastIndex(of: "/").map { String(prefix[..<$0]) } ?? ""
        var found: [StoredBlob] = []
        try walk(bucketDir(backendBucket), relative: base, prefix: prefix, after: after, into: &found)
        found.sort { $0.id.utf8.lexicographicallyPrecedes($1.id.utf8) }
        return Array(found.prefix(limit))
    }

    private func walk(_ root: String, relative: String, prefix: String, after: String, into found: inout [StoredBlob])
        throws(StoreError)
    {
        let dir = relative.isEmpty ? root : root + "/" + relative
        for n in try listDirectory(dir, orFile: true) {
            // The blobs' fan-out directories are not named objects.
            if relative.isEmpty && isFanout(n) { continue }
            let name = relative.isEmpty ? n : relative + "/" + n
            var st = stat()
            guard lstat(root + "/" + name, &st) == 0 else { continue }
            if st.st_mode & S_IFMT == S_IFDIR {
                if name.hasPrefix(prefix) || prefix.hasPrefix(name + "/") {
                    try walk(root, relative: name, prefix: prefix, after: after, into: &found)
                }
            } else if st.st_mode & S_IFMT == S_IFREG, name.hasPrefix(prefix),
                after.utf8.lexicographicallyPrecedes(name.utf8)
            {
                found.append(
                    StoredBlob(
                        id: name, size: Int64(st.st_size),
                        lastModified: Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9))
            }
        }
    }

    public func deleteNamed(backendBucket: String, name: String) throws(StoreError) {
        let path = try namedPath(backendBucket, name)
        try syscall("unlink \(path)", tolerating: [ENOENT]) { unlink(path) }
        // Empty directories left behind go too, up to the bucket's.
        var dir = String(path[..<path.lastIndex(of: "/")!])
        while dir.count > bucketDir(backendBucket).count, rmdir(dir) == 0 {
            dir = String(dir[..<dir.lastIndex(of: "/")!])
        }
    }
}
