import GatewayCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A range of one blob, read with pread (no shared file offset).
final class FileBlobReader: BlobReader {
    private let fd: Int32
    private var position: Int64
    private let end: Int64
    let size: Int64

    init(fd: Int32, offset: Int64, length: Int64) {
        self.fd = fd
        position = offset
        end = offset + length
        size = length
    }

    deinit { close(fd) }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let want = Int(min(Int64(buffer.count), end - position))
        if want <= 0 { return 0 }
        let (fd, position) = (self.fd, self.position)
        let n = try syscall("pread") { pread(fd, buffer.baseAddress!, want, off_t(position)) }
        if n == 0 { throw StoreError.internalFailure("blob shorter than recorded") }
        self.position += Int64(n)
        return n
    }
}
