import GatewayCore

/// Passes an encrypted object's stored bytes through (a replica on its way to its zone, a copy
/// a repair or scrub reads) while checking them in the same single pass:
/// - with the object's data key (SSE-S3, SSE-KMS: the agent holds the KEKs), every segment is
///   authenticated — decrypted into a scratch buffer that is thrown away — so any flipped,
///   cut, reordered or foreign byte is found (`authentic`);
/// - without a key (SSE-C), only the layout and the tag digest can be checked (`tagDigest`,
///   which a flipped ciphertext byte leaves unchanged), plus the MD5 of every stored byte
///   (`storedDigest`) to compare a new copy, read back, with its source.
public final class StoredStreamVerifier: ByteSink {
    private let inner: any ByteSink
    private let streams: [Int64]
    private let parts: [Int]
    private var dataKey: [UInt8]?
    private let frame = SegmentFrame()
    private var cipher: SegmentCipher?
    /// The unit being collected: a stream header, or one segment's ciphertext and tag.
    private let unit = UnsafeMutableRawBufferPointer.allocate(
        byteCount: EncryptionLayout.segmentSize + EncryptionLayout.tagSize, alignment: 16)
    private let scratch = UnsafeMutableRawBufferPointer.allocate(
        byteCount: EncryptionLayout.segmentSize, alignment: 16)
    private var fill = 0
    private var need = EncryptionLayout.headerSize
    private var inHeader = true
    private var stream = 0
    private var segment: Int64 = 0
    private var tags = Digest(.md5)
    private var digests: [[UInt8]] = []
    private var all = Digest(.md5)
    private var overflow = false
    private var forged = false
    /// Stored bytes seen.
    public private(set) var count: Int64 = 0

    /// `streams`: the plaintext sizes of the object's streams, in order, and `parts` the part
    /// number each is bound to; `dataKey`: the object's data key when the caller holds it
    /// (wiped when done), else nil.
    public init(_ inner: any ByteSink, streams: [Int64], parts: [Int] = [], dataKey: [UInt8]? = nil) {
        self.inner = inner
        self.streams = streams
        self.parts = parts
        self.dataKey = dataKey
        if streams.isEmpty { overflow = true }
        if dataKey != nil, parts.count != streams.count { forged = true }
    }

    deinit {
        if dataKey != nil { wipeBytes(&dataKey!) }
        scratch.initializeMemory(as: UInt8.self, repeating: 0)
        unit.deallocate()
        scratch.deallocate()
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        try inner.write(bytes)
        all.update(bytes)
        count += Int64(bytes.count)
        var rest = bytes
        while !rest.isEmpty {
            guard stream < streams.count else {
                overflow = true
                return
            }
            let n = min(rest.count, need - fill)
            UnsafeMutableRawBufferPointer(rebasing: unit[fill..<(fill + n)]).copyMemory(
                from: UnsafeRawBufferPointer(rebasing: rest[..<n]))
            fill += n
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
            if fill == need { take() }
        }
    }

    /// Checks the complete unit in `unit` and sets up the next one.
    private func take() {
        let plain = streams[stream]
        defer { fill = 0 }
        if inHeader {
            frame.headerBuffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: unit[0..<EncryptionLayout.headerSize]))
            if let dataKey {
                if !forged, let key = frame.streamKey(dek: dataKey, part: parts[stream]) {
                    if let cipher { cipher.rekey(key) } else { cipher = SegmentCipher(key: key) }
                } else {
                    forged = true
                }
            }
            inHeader = false
            segment = 0
            need = EncryptionLayout.segmentPlainSize(segment, plain: plain) + EncryptionLayout.tagSize
            return
        }
        let n = need - EncryptionLayout.tagSize
        let tag = UnsafeRawBufferPointer(rebasing: unit[n..<need])
        tags.update(tag)
        let count = EncryptionLayout.segmentCount(plain: plain)
        if dataKey != nil, !forged, let cipher {
            frame.segment(segment, last: segment == count - 1)
            if !cipher.open(
                UnsafeRawBufferPointer(rebasing: unit[0..<n]), into: scratch, tag: tag, nonce: frame.nonce,
                aad: frame.aad)
            {
                forged = true
            }
        }
        segment += 1
        if segment == count {
            digests.append(tags.finalize())
            stream += 1
            inHeader = true
            need = EncryptionLayout.headerSize
        } else {
            need = EncryptionLayout.segmentPlainSize(segment, plain: plain) + EncryptionLayout.tagSize
        }
    }

    /// The bytes were exactly the layout's.
    private var complete: Bool { !overflow && stream == streams.count && fill == 0 }

    /// With a data key: every segment of every stream authenticated and the bytes exactly the
    /// layout's. Always false without a key.
    public var authentic: Bool { dataKey != nil && complete && !forged }

    /// The tag digest (`DataKey.combinedTagDigest` of the streams'), nil when the bytes were not
    /// exactly the layout's (a cut or overlong copy).
    public func tagDigest() -> String? {
        complete ? DataKey.combinedTagDigest(digests) : nil
    }

    /// Hex MD5 of every stored byte seen (call once, at the end).
    public func storedDigest() -> String { hexEncode(all.finalize()) }
}
