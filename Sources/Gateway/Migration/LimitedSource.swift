import GatewayCore

/// The next `length` bytes of a stream, then its end.
final class LimitedSource: ByteSource {
    private let inner: any ByteSource
    private var left: Int64

    init(_ inner: any ByteSource, length: Int64) {
        self.inner = inner
        left = length
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if left == 0 || buffer.count == 0 { return 0 }
        let want = Int(min(Int64(buffer.count), left))
        let n = try inner.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want]))
        if n == 0 { throw CopyFailure.mismatch("the source ended \(left) bytes early") }
        left -= Int64(n)
        return n
    }
}
