import GatewayCore

/// Yields plaintext bytes `offset..<offset+length` of an encrypted object (stream format v1) by
/// reading only what that range needs from its stored bytes: each touched stream's header and
/// the segments covering the range (`EncryptionLayout.reads`), every segment authenticated
/// before a byte of it is returned. A damaged, cut, reordered or foreign segment throws
/// `SSEError.corrupt`; wrong bytes never come out. Memory: one ciphertext and one plaintext
/// segment buffer.
public final class DecryptingReader: ByteSource {
    /// Opens `length` stored bytes at `offset` of the object's streams stored back to back
    /// (one blob, or one per part: `BlobChainReader` maps the offsets to blobs).
    public typealias Open = (_ offset: Int64, _ length: Int64) throws -> any ByteSource

    /// Wiped when the reader goes (the last holder of the request's data key wipes it).
    private var dataKey: [UInt8]
    private let open: Open
    private let slices: [EncryptionLayout.StreamSlice]
    private let parts: [Int]
    private let reads: [EncryptionLayout.StoredRange]
    private let frame = SegmentFrame()
    private var cipher: SegmentCipher?
    private let sealed = UnsafeMutableRawBufferPointer.allocate(
        byteCount: EncryptionLayout.segmentSize + EncryptionLayout.tagSize, alignment: 16)
    private let plain = UnsafeMutableRawBufferPointer.allocate(byteCount: EncryptionLayout.segmentSize, alignment: 16)

    private var source: (any ByteSource)?
    /// Stored offset the open source reads next.
    private var position: Int64 = -1
    private var nextRead = 0
    /// Where the reader is: slice, its next segment, what the slice still yields.
    private var sliceIndex = -1
    private var segment: Int64 = 0
    private var left: Int64 = 0
    /// Decrypted bytes not yet returned: `plain[low..<high]`.
    private var low = 0
    private var high = 0

    /// `streams` are the plaintext sizes of the object's streams in order (`[size]` for a single
    /// PUT, the part sizes for a multipart object), `parts` the part number each is bound to
    /// (`[0]` for a single stream). Reads, authenticates and decrypts the first segment at once,
    /// so a missing blob or damaged bytes fail before any answer is sent.
    public init(
        dataKey: [UInt8], streams: [Int64], parts: [Int], offset: Int64, length: Int64, open: @escaping Open
    ) throws {
        guard parts.count == streams.count else {
            throw SSEError.corrupt("\(streams.count) streams but \(parts.count) part numbers")
        }
        self.dataKey = dataKey
        self.parts = parts
        self.open = open
        slices = EncryptionLayout.slices(streams: streams, offset: offset, length: length)
        reads = EncryptionLayout.reads(slices)
        _ = try advance()
    }

    deinit {
        wipeBytes(&dataKey)
        plain.initializeMemory(as: UInt8.self, repeating: 0)
        sealed.deallocate()
        plain.deallocate()
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard !buffer.isEmpty else { return 0 }
        while low == high {
            guard try advance() else { return 0 }
        }
        let n = min(buffer.count, high - low)
        buffer.baseAddress!.copyMemory(from: plain.baseAddress! + low, byteCount: n)
        low += n
        return n
    }

    /// Decrypts the next needed segment into `plain`; false after the last.
    private func advance() throws -> Bool {
        if left == 0 {
            sliceIndex += 1
            guard sliceIndex < slices.count else { return false }
            let s = slices[sliceIndex]
            try readExactly(frame.headerBuffer, at: s.header.offset)
            guard let key = frame.streamKey(dek: dataKey, part: parts[s.stream]) else {
                throw SSEError.corrupt("stream \(s.stream) has no v1 header")
            }
            if let cipher { cipher.rekey(key) } else { cipher = SegmentCipher(key: key) }
            segment = s.firstSegment
            left = s.take
        }
        let s = slices[sliceIndex]
        let n = EncryptionLayout.segmentPlainSize(segment, plain: s.plainSize)
        let stored = UnsafeMutableRawBufferPointer(rebasing: sealed[0..<(n + EncryptionLayout.tagSize)])
        try readExactly(stored, at: s.storedOffset + EncryptionLayout.segmentOffset(segment))
        frame.segment(segment, last: segment == s.segmentCount - 1)
        let ok = cipher!.open(
            UnsafeRawBufferPointer(rebasing: stored[0..<n]), into: plain,
            tag: UnsafeRawBufferPointer(rebasing: stored[n...]), nonce: frame.nonce, aad: frame.aad)
        guard ok else { throw SSEError.corrupt("segment \(segment) of stream \(s.stream) fails authentication") }
        low = segment == s.firstSegment ? s.skip : 0
        high = low + Int(min(Int64(n - low), left))
        left -= Int64(high - low)
        segment += 1
        return true
    }

    /// Fills `buffer` from stored offset `offset`, opening the next planned read when the open
    /// one does not continue there. Fewer bytes than planned means the stored stream was cut.
    private func readExactly(_ buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws {
        if source == nil || position != offset {
            while nextRead < reads.count, reads[nextRead].offset != offset { nextRead += 1 }
            guard nextRead < reads.count else {
                throw SSEError.corrupt("a read at stored offset \(offset) lies outside the plan")
            }
            source = try open(reads[nextRead].offset, reads[nextRead].length)
            position = offset
            nextRead += 1
        }
        var got = 0
        while got < buffer.count {
            let n = try source!.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[got...]))
            if n == 0 { throw SSEError.corrupt("stored stream ends early at byte \(position + Int64(got))") }
            got += n
        }
        position += Int64(got)
    }
}
