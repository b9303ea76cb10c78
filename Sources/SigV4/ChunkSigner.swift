// Sending side of aws-chunked with signed chunks (STREAMING-AWS4-HMAC-SHA256-PAYLOAD), the
// counterpart of AWSChunkedDecoder: fixed-size chunks, each signed over the previous signature
// and its own SHA-256, then a signed empty chunk. Pure: no clock, no I/O; the caller passes the
// request's x-amz-date and receives the framed bytes through a closure.
// https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html

/// Frames a payload into signed aws-chunks, chained to the request's seed signature.
public struct ChunkSigner: Sendable {
    /// AWS recommends at least 64 KiB; every chunk but the last must be at least 8 KiB.
    public static let defaultChunkSize = 64 * 1024

    public let chunkSize: Int
    public let signingKey: [UInt8]
    /// The request's x-amz-date, "20130524T000000Z".
    public let amzDate: String
    /// "20130524/us-east-1/s3/aws4_request".
    public let scope: String
    /// The seed signature before the first chunk, then the signature of the last chunk framed.
    public private(set) var previousSignature: String
    private var pending: [UInt8] = []

    public init(
        signingKey: [UInt8], amzDate: String, scope: String, seedSignature: String,
        chunkSize: Int = defaultChunkSize
    ) {
        precondition(chunkSize > 0, "aws-chunked chunks hold at least one byte")
        self.chunkSize = chunkSize
        self.signingKey = signingKey
        self.amzDate = amzDate
        self.scope = scope
        previousSignature = seedSignature
        pending.reserveCapacity(chunkSize)
    }

    /// Derives the signing key and scope from the same inputs as the request's seed signature.
    public init(
        secretKey: String, region: String, service: String, amzDate: String, seedSignature: String,
        chunkSize: Int = defaultChunkSize
    ) {
        self.init(
            signingKey: Signer.signingKey(
                secret: secretKey, date: String(amzDate.prefix(8)), region: region, service: service),
            amzDate: amzDate, scope: Signer.scope(amzDate: amzDate, region: region, service: service),
            seedSignature: seedSignature, chunkSize: chunkSize)
    }

    /// The Content-Length of `length` payload bytes once framed (x-amz-decoded-content-length
    /// is `length` itself).
    public static func encodedLength(_ length: Int64, chunkSize: Int = defaultChunkSize) -> Int64 {
        // "hex-size;chunk-signature=" + 64 hex + CRLF + data + CRLF
        func frame(_ size: Int64) -> Int64 {
            Int64(String(size, radix: 16).utf8.count) + 17 + 64 + 2 + size + 2
        }
        let full = length / Int64(chunkSize)
        let rest = length % Int64(chunkSize)
        return full * frame(Int64(chunkSize)) + (rest > 0 ? frame(rest) : 0) + frame(0)
    }

    /// Frames `bytes`: every chunk they complete is passed to `emit` (header, data, CRLF as
    /// separate pieces, so the data is not copied again); the rest waits for more bytes.
    public mutating func write(_ bytes: UnsafeRawBufferPointer, to emit: (UnsafeRawBufferPointer) throws -> Void)
        rethrows
    {
        var offset = 0
        while offset < bytes.count {
            let n = min(chunkSize - pending.count, bytes.count - offset)
            pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)]))
            offset += n
            if pending.count == chunkSize { try emitPending(to: emit) }
        }
    }

    /// Frames the last partial chunk and the final empty one; the body is then complete.
    public mutating func finish(to emit: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        if !pending.isEmpty { try emitPending(to: emit) }
        try emitPending(to: emit)
    }

    private mutating func emitPending(to emit: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        let signature = Signer.chunkSignature(
            signingKey: signingKey, amzDate: amzDate, scope: scope, previousSignature: previousSignature,
            chunk: pending)
        previousSignature = signature
        let head = Array("\(String(pending.count, radix: 16));chunk-signature=\(signature)\r\n".utf8)
        try head.withUnsafeBytes { try emit($0) }
        if !pending.isEmpty { try pending.withUnsafeBytes { try emit($0) } }
        try [UInt8](arrayLiteral: 13, 10).withUnsafeBytes { try emit($0) }
        pending.removeAll(keepingCapacity: true)
    }
}
