import GatewayCore

/// Passes an encrypted object's stored bytes through while computing its tag digest from them,
/// with no key: a replica or a repaired copy is checked against the envelope's `tagDigest` the
/// way a plaintext copy is checked against its ETag, in the same single pass.
public final class StoredTagDigestSink: ByteSink {
    private let inner: any ByteSink
    private let streams: [Int64]
    private var stream = 0
    private var segment: Int64 = 0
    /// What the bytes at the cursor are, and how many of them are left.
    private enum Region { case header, cipher, tag }
    private var region = Region.header
    private var left = Int64(EncryptionLayout.headerSize)
    private var digest = Digest(.md5)
    private var digests: [[UInt8]] = []
    private var overflow = false

    /// `streams`: the plaintext sizes of the object's streams, in order.
    public init(_ inner: any ByteSink, streams: [Int64]) {
        self.inner = inner
        self.streams = streams
        if streams.isEmpty { overflow = true }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        try inner.write(bytes)
        var rest = bytes
        while !rest.isEmpty {
            guard stream < streams.count else {
                overflow = true
                return
            }
            let n = Int(min(Int64(rest.count), left))
            if region == .tag { digest.update(UnsafeRawBufferPointer(rebasing: rest[..<n])) }
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
            left -= Int64(n)
            if left == 0 { next() }
        }
    }

    /// Moves the cursor past a finished region (skipping empty ciphertext regions).
    private func next() {
        let plain = streams[stream]
        switch region {
        case .header, .tag:
            if region == .tag {
                segment += 1
                if segment == EncryptionLayout.segmentCount(plain: plain) {
                    digests.append(digest.finalize())
                    stream += 1
                    segment = 0
                    region = .header
                    left = Int64(EncryptionLayout.headerSize)
                    return
                }
            }
            region = .cipher
            left = Int64(EncryptionLayout.segmentPlainSize(segment, plain: plain))
            if left == 0 { next() }
        case .cipher:
            region = .tag
            left = Int64(EncryptionLayout.tagSize)
        }
    }

    /// The digest (`DataKey.combinedTagDigest` of the streams'), nil when the bytes were not
    /// exactly the layout's (a cut or overlong copy).
    public func tagDigest() -> String? {
        guard !overflow, stream == streams.count else { return nil }
        return DataKey.combinedTagDigest(digests)
    }
}
