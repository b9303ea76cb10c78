/// Reads a request's FCGI_STDIN records straight from the connection into the caller's buffer:
/// libfcgi reads the socket 8 KiB at a time and copies every byte once more, which a large body
/// pays per byte. Each socket read here is one scatter read that takes the current record's
/// content into the caller's buffer and its padding and the next record's header into a small
/// side buffer, and never reads past the current record's end plus one header, so nothing of a
/// following request on a kept connection is consumed.
///
/// Starts where libfcgi stopped: the content it exposed and the raw bytes it buffered, with what
/// the current record still owes. A connection that ends or fails before the empty end record,
/// or a record that is not this request's stdin, throws: never a clean end of a cut body.
struct StdinRecordReader {
    /// Reads into the first buffer, then the second; 0 means the peer closed.
    typealias ScatterRead = (UnsafeMutableRawBufferPointer, UnsafeMutableRawBufferPointer) throws -> Int

    private let requestID: UInt16
    private let readv: ScatterRead
    /// Content libfcgi exposed, handed out first.
    private var pending: [UInt8]
    private var pendingStart = 0
    /// Bytes read and not parsed yet: padding, headers (and content when libfcgi had buffered it).
    private var side: [UInt8]
    private var sideStart = 0
    private var sideEnd: Int
    private var contentLeft: Int
    private var paddingLeft: Int
    private(set) var ended: Bool

    static let headerSize = 8
    static let stdinType: UInt8 = 5

    init(
        requestID: UInt16, pending: [UInt8], raw: [UInt8], contentLeft: Int, paddingLeft: Int, ended: Bool,
        readv: @escaping ScatterRead
    ) {
        self.requestID = requestID
        self.pending = pending
        // Room for what libfcgi buffered, or for the largest padding and a header.
        side = raw + [UInt8](repeating: 0, count: max(0, 255 + Self.headerSize - raw.count))
        sideEnd = raw.count
        self.contentLeft = contentLeft
        self.paddingLeft = paddingLeft
        self.ended = ended
        self.readv = readv
    }

    private var sideCount: Int { sideEnd - sideStart }

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard buffer.count > 0 else { return 0 }
        if pendingStart < pending.count {
            let n = min(buffer.count, pending.count - pendingStart)
            pending.withUnsafeBytes {
                buffer.baseAddress!.copyMemory(from: $0.baseAddress! + pendingStart, byteCount: n)
            }
            pendingStart += n
            return n
        }
        while !ended {
            if contentLeft > 0 {
                if sideCount > 0 {
                    let n = min(contentLeft, sideCount, buffer.count)
                    side.withUnsafeBytes {
                        buffer.baseAddress!.copyMemory(from: $0.baseAddress! + sideStart, byteCount: n)
                    }
                    sideStart += n
                    contentLeft -= n
                    return n
                }
                // The record's content into the caller's buffer; when all of it fits, its padding
                // and the next header ride along into the side buffer.
                let take = min(contentLeft, buffer.count)
                let extra = take == contentLeft ? paddingLeft + Self.headerSize : 0
                sideStart = 0
                sideEnd = 0
                let got = try side.withUnsafeMutableBytes { s in
                    try readv(
                        UnsafeMutableRawBufferPointer(rebasing: buffer[0..<take]),
                        UnsafeMutableRawBufferPointer(rebasing: s[0..<extra]))
                }
                if got <= 0 { throw FastCGIError.streamFailed }
                let content = min(got, take)
                sideEnd = got - content
                contentLeft -= content
                return content
            }
            // A record's header always follows its padding: it may come in the same read.
            try skipPadding(readingAhead: Self.headerSize)
            while sideCount < Self.headerSize { try fillSide(upTo: Self.headerSize) }
            try nextHeader()
        }
        return 0
    }

    private mutating func skipPadding(readingAhead: Int) throws {
        while paddingLeft > 0 {
            if sideCount == 0 { try fillSide(upTo: paddingLeft + readingAhead) }
            let n = min(paddingLeft, sideCount)
            sideStart += n
            paddingLeft -= n
        }
    }

    /// Reads more into the side buffer (after what it holds) until it holds `upTo` bytes at most.
    private mutating func fillSide(upTo wanted: Int) throws {
        if sideStart > 0 {
            side.withUnsafeMutableBytes { s in
                s.baseAddress!.copyMemory(from: s.baseAddress! + sideStart, byteCount: sideEnd - sideStart)
            }
            sideEnd -= sideStart
            sideStart = 0
        }
        let want = wanted - sideEnd
        guard want > 0 else { return }
        if side.count < wanted { side += [UInt8](repeating: 0, count: wanted - side.count) }
        let end = sideEnd
        let got = try side.withUnsafeMutableBytes { s in
            try readv(
                UnsafeMutableRawBufferPointer(rebasing: s[end..<(end + want)]),
                UnsafeMutableRawBufferPointer(start: nil, count: 0))
        }
        if got <= 0 { throw FastCGIError.streamFailed }
        sideEnd += got
    }

    /// Parses the header at the side buffer's start: this request's stdin record, or the end.
    private mutating func nextHeader() throws {
        let b = Array(side[sideStart..<(sideStart + Self.headerSize)])
        sideStart += Self.headerSize
        let id = UInt16(b[2]) << 8 | UInt16(b[3])
        guard b[0] == 1, b[1] == Self.stdinType, id == requestID else { throw FastCGIError.streamFailed }
        contentLeft = Int(b[4]) << 8 | Int(b[5])
        paddingLeft = Int(b[6])
        if contentLeft == 0 {
            // The empty record ends stdin; nothing after its padding is this request's.
            try skipPadding(readingAhead: 0)
            ended = true
        }
    }
}
