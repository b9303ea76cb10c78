import GatewayCore
import SigV4

/// Passes bytes through while computing the ETag they must have: the MD5 of the whole, or —
/// for an object completed from parts — the MD5 of each part's MD5, then "-N". A replica is
/// verified against the object's ETag this way, with no second read.
final class ETagSink: ByteSink {
    private let inner: any ByteSink
    private var whole = Digest(.md5)
    private var part = Digest(.md5)
    private var partMD5s: [UInt8] = []
    /// Sizes of the parts still to come (empty for a single-part object).
    private var remaining: [Int64]
    private let partCount: Int
    private(set) var count: Int64 = 0

    init(_ inner: any ByteSink, partSizes: [Int64]) {
        self.inner = inner
        remaining = partSizes.reversed()
        partCount = partSizes.count
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        try inner.write(bytes)
        count += Int64(bytes.count)
        guard partCount > 0 else {
            whole.update(bytes)
            return
        }
        var rest = bytes
        while !rest.isEmpty {
            guard let left = remaining.last else { return }  // more bytes than parts: the ETag will differ
            let n = Int(min(Int64(rest.count), left))
            part.update(UnsafeRawBufferPointer(rebasing: rest[..<n]))
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
            if left - Int64(n) == 0 {
                remaining.removeLast()
                partMD5s += part.finalize()
            } else {
                remaining[remaining.count - 1] = left - Int64(n)
            }
        }
    }

    /// The ETag of what went through (hex, without quotes).
    func etag() -> String {
        if partCount == 0 { return hexEncode(whole.finalize()) }
        // Zero-length parts at the end complete without a write.
        while let last = remaining.last, last == 0 {
            remaining.removeLast()
            partMD5s += part.finalize()
        }
        return hexEncode(Digest.hash(.md5, partMD5s)) + "-\(partCount)"
    }
}
