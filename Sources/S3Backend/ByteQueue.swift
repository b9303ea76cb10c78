/// Bytes waiting between the caller and libcurl, consumed from the front.
struct ByteQueue {
    private var bytes: [UInt8] = []
    private var start = 0

    var count: Int { bytes.count - start }

    mutating func append(_ data: UnsafeRawBufferPointer) { bytes.append(contentsOf: data) }

    /// Moves up to `out.count` bytes out; the storage is reused once drained.
    mutating func take(into out: UnsafeMutableRawBufferPointer) -> Int {
        let n = min(out.count, count)
        bytes.withUnsafeBytes { src in out.baseAddress!.copyMemory(from: src.baseAddress! + start, byteCount: n) }
        start += n
        if start == bytes.count {
            bytes.removeAll(keepingCapacity: true)
            start = 0
        }
        return n
    }
}
