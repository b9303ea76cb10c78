import GatewayCore

#if canImport(CLinux)
    import CLinux
#endif
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Bytes on their way into a filesystem zone: a temporary file that becomes the blob by rename.
/// Large blobs are written with direct I/O (`FileBlobWriter+Direct`).
final class FileBlobWriter: BlobWriter {
    private let zone: FileSystemZone
    private let backendBucket: String
    private let id: String
    let tmpPath: String
    private(set) var fd: Int32
    /// True until the temp file becomes the blob: abort() (also run by deinit) then removes it,
    /// whichever step of commit() failed (fsync, mkdir, rename).
    private var tmpExists = true

    /// A named object's path and name (`FileSystemZone+Named`); nil for a blob.
    private let named: (path: String, name: String)?

    /// Bytes written so far, and where the ranges handed to write-back begin (see `writeBack`).
    var written: Int64 = 0
    private var writeBackStart: Int64 = 0
    private var previousWriteBackStart: Int64 = 0

    /// Set while the file is open with O_DIRECT: what has not yet made a whole block
    /// (`FileBlobWriter+Direct`).
    var direct: DirectWriteStaging?

    /// `direct`: write with direct I/O where the filesystem allows it.
    init(
        zone: FileSystemZone, backendBucket: String, named: (path: String, name: String)? = nil, direct: Bool = false
    ) throws(StoreError) {
        self.zone = zone
        self.backendBucket = backendBucket
        self.named = named
        id = RandomID.make()
        tmpPath = zone.tmpDir + "/" + FileSystemZone.temporaryPrefix(getpid()) + id
        let path = tmpPath
        let flags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC
        #if canImport(CLinux)
            if direct {
                // A filesystem without direct I/O (tmpfs on older kernels) refuses the flag at
                // open: the file is then written through the page cache like a small one.
                let d = try syscall("open \(path)", tolerating: [EINVAL]) {
                    Glibc.open(path, flags | s3gw_o_direct(), 0o644)
                }
                if d >= 0 {
                    fd = d
                    self.direct = DirectWriteStaging()
                    return
                }
            }
        #endif
        fd = try syscall("open \(path)") { Glibc.open(path, flags, 0o644) }
    }

    deinit { abort() }

    /// A file descriptor is not bound to a thread.
    var writesFromAnyThread: Bool { true }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        if direct != nil { return try writeDirect(bytes) }
        try writeBuffered(bytes)
    }

    /// Through the page cache, with write-back started every window.
    func writeBuffered(_ bytes: UnsafeRawBufferPointer) throws(StoreError) {
        var done = 0
        while done < bytes.count {
            let n = try syscall("write \(tmpPath)") {
                Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            }
            done += n
        }
        written += Int64(bytes.count)
        if written - writeBackStart >= writeBackWindow { try writeBack() }
    }

    /// Starts write-back of the last window and waits for the one before it: the disk works while
    /// the body still arrives, dirty pages stay bounded, and the fsync at commit finds little left
    /// (for 1 GiB it used to flush all of it at the end). A write error must fail the write here:
    /// the waiting call reports it once and marks it seen, so the fsync at commit would not.
    private func writeBack() throws(StoreError) {
        #if canImport(CLinux)
            let (fd, path) = (self.fd, tmpPath)
            let (start, count) = (writeBackStart, written - writeBackStart)
            try syscall("sync_file_range \(path)", tolerating: [EINTR]) { s3gw_start_writeback(fd, start, count) }
            if writeBackStart > previousWriteBackStart {
                let (before, length) = (previousWriteBackStart, writeBackStart - previousWriteBackStart)
                try syscall("sync_file_range \(path)", tolerating: [EINTR]) {
                    s3gw_finish_writeback(fd, before, length)
                }
            }
        #endif
        previousWriteBackStart = writeBackStart
        writeBackStart = written
    }

    func commit() throws(StoreError) -> String {
        if direct != nil { try finishDirect() }
        let fd = self.fd
        try syscall("fsync \(tmpPath)") { fsync(fd) }
        close(fd)
        self.fd = -1
        let final: String
        if let named { final = named.path } else { final = try zone.blobPath(backendBucket, id) }
        let dir = parentDirectory(final)
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
            try syncDirectory(dir)
        } catch {
            unlink(final)
            throw error
        }
        return named?.name ?? id
    }

    func abort() {
        direct = nil
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

/// Bytes between write-back starts: large enough for big sequential I/O, small enough that the
/// last window's flush at commit is short.
let writeBackWindow: Int64 = 8 << 20
