import GatewayCore

/// Counts request body bytes and turns an early end (client gone) into IncompleteBody.
final class CountingSource: ByteSource {
    private let inner: any ByteSource
    private let expected: Int64?
    private(set) var count: Int64 = 0

    init(inner: any ByteSource, expected: Int64?) {
        self.inner = inner
        self.expected = expected
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n: Int
        do {
            n = try inner.read(into: buffer)
        } catch {
            throw S3Error(.incompleteBody)
        }
        if n == 0, let expected, count < expected { throw S3Error(.incompleteBody) }
        count += Int64(n)
        return n
    }
}
