import Compression
import GatewayCore

#if canImport(Glibc)
    import Glibc
#endif

/// A file read in order, opened once: a delete while it streams does not cut it short. How the
/// web API's file answers (snapshot downloads and summaries) are streamed, over HTTP and by the
/// CLI on the gateway host alike.
public final class FileSource: ByteSource {
    private let fd: Int32
    public let size: Int64

    /// Nil when there is no regular file at `path` (deleted meanwhile).
    public init?(path: String) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            return nil
        }
        self.fd = fd
        size = Int64(st.st_size)
    }

    deinit { close(fd) }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try systemCall("read") { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }

    /// The rest of the file into `sink` in bounded chunks, gzip-compressed on the way when
    /// `gzip` (the compressed length is known only at the end).
    public func copy(into sink: any ByteSink, gzip: Bool) throws {
        guard gzip else {
            try pump(self, into: sink)
            return
        }
        let compressed = try GzipSink(into: sink)
        try pump(self, into: compressed)
        try compressed.finish()
    }
}
