#if canImport(Glibc)
    import Glibc
#endif

/// Up to `limit` bytes of the file at `path` from `offset` (to its end without a limit); nil
/// when the file does not exist. Short reads and EINTR are retried.
public func readFileBytes(_ path: String, from offset: Int64 = 0, limit: Int? = nil) throws(SystemCallError)
    -> [UInt8]?
{
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    if fd < 0 {
        if errno == ENOENT { return nil }
        throw SystemCallError(call: "open \(path)", errno: errno)
    }
    defer { close(fd) }
    var st = stat()
    try systemCall("fstat \(path)") { fstat(fd, &st) }
    let available = max(0, Int(Int64(st.st_size) - offset))
    let count = min(available, limit ?? available)
    var out = [UInt8](repeating: 0, count: count)
    var done = 0
    while done < count {
        var n: Int
        repeat {
            n = out.withUnsafeMutableBytes {
                pread(fd, $0.baseAddress! + done, count - done, off_t(offset) + off_t(done))
            }
        } while n < 0 && errno == EINTR
        if n < 0 { throw SystemCallError(call: "read \(path)", errno: errno) }
        if n == 0 { break }
        done += n
    }
    return done == count ? out : Array(out[0..<done])
}
