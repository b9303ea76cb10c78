import GatewayCore

/// Encrypts one stream (a PUT body, a copy, one multipart part) in stream format v1 on its way
/// to `downstream` (the zone's blob writer): plaintext in, header then sealed segments out.
/// A full segment is held until more bytes come or `finish()`, since only then is it known
/// whether it is the last one. Memory: one plaintext and one ciphertext segment buffer.
///
/// Every stream gets a fresh random salt, hence its own key: a retried part or a re-encrypted
/// copy never reuses a (key, nonce) pair.
public final class EncryptingSink: ByteSink {
    private let downstream: any ByteSink
    private let cipher: SegmentCipher
    private let frame = SegmentFrame()
    private let plain = UnsafeMutableRawBufferPointer.allocate(
        byteCount: EncryptionLayout.segmentSize, alignment: 16)
    private let out = UnsafeMutableRawBufferPointer.allocate(
        byteCount: EncryptionLayout.segmentSize + EncryptionLayout.tagSize, alignment: 16)
    private var fill = 0
    private var index: Int64 = 0
    private var headerSent = false
    private var finished = false
    private var tags = Digest(.md5)

    /// Plaintext bytes taken so far.
    public private(set) var plainCount: Int64 = 0
    /// Stored bytes passed downstream so far (`EncryptionLayout.storedSize(plain:)` at the end).
    public private(set) var storedCount: Int64 = 0
    /// MD5 over the stream's segment tags in order, set by `finish()`: the ETag of an SSE-KMS /
    /// SSE-C object or part (it reveals nothing about the plaintext).
    public private(set) var tagDigest: [UInt8] = []

    /// `part`: the part number the stream is (0 for a single-stream object), bound into its
    /// key. `salt` is for tests only; a real stream always takes a fresh random one.
    public init(_ downstream: any ByteSink, dataKey: [UInt8], part: Int = 0, salt: [UInt8]? = nil) {
        self.downstream = downstream
        frame.newHeader(salt: salt ?? randomBytes(EncryptionLayout.saltSize))
        cipher = SegmentCipher(key: frame.streamKey(dek: dataKey, part: part)!)
    }

    deinit {
        plain.deallocate()
        out.deallocate()
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        precondition(!finished, "write after finish")
        var rest = bytes
        while !rest.isEmpty {
            if fill == EncryptionLayout.segmentSize {
                // More bytes follow the held segment: it is not the last.
                try seal(UnsafeRawBufferPointer(plain), last: false)
                fill = 0
            }
            if fill == 0 && rest.count > EncryptionLayout.segmentSize {
                // A whole segment with more after it: sealed straight from the caller's buffer.
                try seal(UnsafeRawBufferPointer(rebasing: rest[..<EncryptionLayout.segmentSize]), last: false)
                rest = UnsafeRawBufferPointer(rebasing: rest[EncryptionLayout.segmentSize...])
                continue
            }
            let n = min(rest.count, EncryptionLayout.segmentSize - fill)
            UnsafeMutableRawBufferPointer(rebasing: plain[fill..<(fill + n)]).copyMemory(
                from: UnsafeRawBufferPointer(rebasing: rest[..<n]))
            fill += n
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
        }
        plainCount += Int64(bytes.count)
    }

    /// Seals the last segment (an empty one for an empty stream). Call once, after the last
    /// write, before committing the blob.
    public func finish() throws {
        precondition(!finished, "finish twice")
        try seal(UnsafeRawBufferPointer(rebasing: plain[0..<fill]), last: true)
        fill = 0
        finished = true
        tagDigest = tags.finalize()
    }

    private func seal(_ segment: UnsafeRawBufferPointer, last: Bool) throws {
        if !headerSent {
            try downstream.write(frame.header)
            storedCount += Int64(EncryptionLayout.headerSize)
            headerSent = true
        }
        frame.segment(index, last: last)
        let n = segment.count
        let tag = UnsafeMutableRawBufferPointer(rebasing: out[n..<(n + EncryptionLayout.tagSize)])
        cipher.seal(
            segment, into: UnsafeMutableRawBufferPointer(rebasing: out[0..<n]), tag: tag, nonce: frame.nonce,
            aad: frame.aad)
        tags.update(UnsafeRawBufferPointer(tag))
        let sealed = UnsafeRawBufferPointer(rebasing: out[0..<(n + EncryptionLayout.tagSize)])
        try downstream.write(sealed)
        storedCount += Int64(sealed.count)
        index += 1
    }
}
