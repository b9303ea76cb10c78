import Foundation
import GatewayCore

#if canImport(Glibc)
    import Glibc
#endif

/// The operations log file as one process appends to it, shared with the other processes of the
/// gateway that append to the same path: each holds its own `O_APPEND` descriptor (the kernel
/// puts every `write(2)` at the end, whole, whoever else writes), and whichever first sees the
/// file reach `maxBytes` rotates it under an exclusive `flock` on `<path>.lock`, re-checking the
/// size once it holds the lock (another process may have rotated it meanwhile). The others notice
/// that the path names another file than theirs (its inode, looked at after a rotation and at most
/// once a second otherwise) and reopen; what they appended in between is in `path.1`, where a
/// query finds it. Used by one thread (the writer's).
final class OplogFile {
    let settings: OplogSettings
    /// The state directory the log's directory is created in (given to its owner, as every
    /// directory under it is); nil: the directory is created as the process's own.
    let stateDir: String?
    private var fd: Int32 = -1
    private var identity: (dev: UInt64, ino: UInt64) = (0, 0)
    private var lockFD: Int32 = -1
    private var lastIdentityCheck = 0.0
    /// A write failed part-way: the file may end inside a line, which the next write must end
    /// first, or its first record would be glued to the torn one.
    private var torn = false

    /// How often, at most, the path's inode is compared with the open file's.
    static let identityCheckInterval = 1.0

    init(settings: OplogSettings, stateDir: String?) {
        self.settings = settings
        self.stateDir = stateDir
    }

    deinit { close() }

    func close() {
        if fd >= 0 { _ = Glibc.close(fd) }
        if lockFD >= 0 { _ = Glibc.close(lockFD) }
        fd = -1
        lockFD = -1
    }

    /// Appends `bytes` (whole lines) with one `write(2)` (more only if the kernel takes less).
    func append(_ bytes: [UInt8]) throws {
        let now = OplogMonitor.now()
        if fd >= 0 && now - lastIdentityCheck >= Self.identityCheckInterval {
            lastIdentityCheck = now
            if !pathIsOurs() { reopenQuietly() }
        }
        if fd < 0 { try open() }
        let bytes = torn ? [0x0A] + bytes : bytes
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                let e = errno
                torn = torn || done > 0
                throw SystemCallError(call: "write \(settings.path)", errno: e)
            }
            done += n
        }
        torn = false
    }

    /// Rotates the file once it has reached its size (after an append: a failure here loses no
    /// record, the next append goes on in the file as it is).
    func rotateIfFull() throws {
        var st = stat()
        guard fd >= 0, fstat(fd, &st) == 0, Int(st.st_size) >= settings.maxBytes else { return }
        try rotate()
    }

    private func open() throws {
        torn = false
        let dir = (settings.path as NSString).deletingLastPathComponent
        if !dir.isEmpty && access(dir, F_OK) != 0 {
            if let stateDir {
                try StateDirectory.makeDirectory(dir, in: stateDir)
            } else {
                try FileManager.default.createDirectory(
                    atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            }
        }
        let path = settings.path
        fd = try systemCall("open \(path)") { Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640) }
        var st = stat()
        if fstat(fd, &st) == 0 { identity = (UInt64(st.st_dev), UInt64(st.st_ino)) }
        lastIdentityCheck = OplogMonitor.now()
        // Made with the log, so a query always finds it to hold rotations off while it lists the files.
        _ = try lockFile()
    }

    private func reopenQuietly() {
        if fd >= 0 { _ = Glibc.close(fd) }
        fd = -1
    }

    /// Whether the path still names the file this process appends to.
    private func pathIsOurs() -> Bool {
        var st = stat()
        guard stat(settings.path, &st) == 0 else { return false }
        return (UInt64(st.st_dev), UInt64(st.st_ino)) == identity
    }

    /// `path.<files-1>` → `path.<files>` … `path` → `path.1` under the lock, unless another
    /// process did it first; then this process appends to the path's new file.
    private func rotate() throws {
        let lock = try lockFile()
        try systemCall("flock \(settings.path).lock") { flock(lock, LOCK_EX) }
        defer { _ = flock(lock, LOCK_UN) }
        var st = stat()
        let path = settings.path
        if stat(path, &st) == 0, Int(st.st_size) >= settings.maxBytes {
            for n in stride(from: settings.files - 1, through: 1, by: -1) {
                try systemCall("rename \(path).\(n)", tolerating: [ENOENT]) {
                    rename("\(path).\(n)", "\(path).\(n + 1)")
                }
            }
            try systemCall("rename \(path)", tolerating: [ENOENT]) { rename(path, "\(path).1") }
        }
        reopenQuietly()
        try open()
    }

    private func lockFile() throws(SystemCallError) -> Int32 {
        if lockFD < 0 {
            let path = settings.path + ".lock"
            lockFD = try systemCall("open \(path)") { Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o640) }
        }
        return lockFD
    }
}
