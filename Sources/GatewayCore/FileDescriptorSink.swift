#if canImport(Glibc)
    import Glibc
#endif

/// Writes everything it is given to an open file descriptor (short writes and EINTR retried);
/// the caller owns the descriptor. `path` names it in errors.
public final class FileDescriptorSink: ByteSink {
    let fd: Int32
    let path: String

    public init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = try systemCall("write \(path)") { Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done) }
            guard n > 0 else { throw SystemCallError(call: "write \(path)", errno: EIO) }
            done += n
        }
    }
}
