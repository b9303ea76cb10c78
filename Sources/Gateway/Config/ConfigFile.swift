import GatewayCore

#if canImport(Glibc)
    import Glibc
#endif

/// Creates a file readable by its owner only (O_EXCL: never clobbers an existing secret).
public func writePrivate(path: String, _ text: String) throws {
    let fd = try systemCall("open \(path)") { open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600) }
    defer { close(fd) }
    let bytes = Array(text.utf8)
    _ = try systemCall("write \(path)") { write(fd, bytes, bytes.count) }
    try systemCall("fsync \(path)") { fsync(fd) }
}

/// Replaces a file atomically (temporary file, fsync, rename) keeping its permission bits: the
/// configuration holds provider secrets, so a 0600 file must not come back 0644.
public func replacePreservingMode(_ path: String, with text: String) throws {
    var st = stat()
    try systemCall("stat \(path)") { stat(path, &st) }
    let tmp = path + ".tmp-\(getpid())"
    unlink(tmp)
    try writePrivate(path: tmp, text)
    do {
        try systemCall("chmod \(tmp)") { chmod(tmp, st.st_mode & 0o7777) }
        try systemCall("rename \(tmp)") { rename(tmp, path) }
    } catch {
        unlink(tmp)
        throw error
    }
}
