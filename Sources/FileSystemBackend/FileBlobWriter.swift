import GatewayCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Bytes on their way into a filesystem zone: a temporary file that becomes the blob by rename.
final class FileBlobWriter: BlobWriter {
    private let zone: FileSystemZone
    private let backendBucket: String
    private let id: String
    private let tmpPath: String
    private var fd: Int32
    /// True until the temp file becomes the blob: abort() (also run by deinit) then removes it,
    /// whichever step of commit() failed (fsync, mkdir, rename).
    private var tmpExists = true

    /// A named object's path and name (`FileSystemZone+Named`); nil for a blob.
    private let named: (path: String, name: String)?

    init(zone: FileSystemZone, backendBucket: String, named: (path: String, name: String)? = nil) throws(StoreError) {
        self.zone = zone
        self.backendBucket = backendBucket
        self.named = named
        id = RandomID.make()
        tmpPath = zone.tmpDir + "/" + FileSystemZone.temporaryPrefix(getpid()) + id
        let path = tmpPath
        fd = try syscall("open \(path)") { Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644) }
    }

    deinit { abort() }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = try syscall("write \(tmpPath)") {
                Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            }
            done += n
        }
    }

    func commit() throws(StoreError) -> String {
        let fd = self.fd
        try syscall("fsync \(tmpPath)") { fsync(fd) }
        close(fd)
        self.fd = -1
        let final: String
        if let named { final = named.path } else { final = try zone.blobPath(backendBucket, id) }
        let dir = String(final[..<final.lastIndex(of: "/")!])
        let tmp = tmpPath
        // The fan-out directory exists for all but a bucket's first blobs there: rename first,
        // and create the directories only when the rename says they are missing.
        if try syscall("rename \(tmp)", tolerating: [ENOENT], { rename(tmp, final) }) != 0 {
            try makeDirectories(dir)
            try syscall("rename \(tmp)") { rename(tmp, final) }
        }
        tmpExists = false
        // The rename is durable only once the directory entry is; a blob whose entry may not
        // survive a crash is no blob, so it goes and the commit fails.
        do {
            let dfd = try syscall("open \(dir)") { Glibc.open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
            defer { close(dfd) }
            try syscall("fsync \(dir)") { fsync(dfd) }
        } catch {
            unlink(final)
            throw error
        }
        return named?.name ?? id
    }

    func abort() {
        if fd >= 0 {
            close(fd)
            fd = -1
        }
        if tmpExists {
            tmpExists = false
            unlink(tmpPath)
        }
    }
}
