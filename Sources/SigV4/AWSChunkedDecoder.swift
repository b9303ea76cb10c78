import GatewayCore

// aws-chunked content encoding: "hex-size[;chunk-signature=sig]\r\n data \r\n" … "0…\r\n",
// then optional trailing headers and a blank line.
// https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
// https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html
// Decodes in one pass over fixed buffers; chunk data goes straight to the caller's buffer when
// nothing is buffered, so large chunks cost no extra copy.

/// What the chunk-signature chain needs: the derived key and the previous signature.
struct ChunkSigningState {
    let key: [UInt8]
    let amzDate: String
    let scope: String
    var previous: String
}

final class AWSChunkedDecoder {
    /// A chunk header or trailer line longer than this is an attack or garbage, not framing.
    static let maxLineLength = 4096
    static let maxTrailers = 16

    private let source: any ByteSource
    private var signing: ChunkSigningState?
    private let signedTrailer: Bool
    private let trailerExpected: Bool

    private let buffer: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0
    private var sourceAtEOF = false

    private enum State { case header, data, dataEnd, trailer, done }
    private var state = State.header
    private var remaining = 0
    private var givenSignature: String?
    private var chunkHash: Digest?
    private var skippedBlankBeforeTrailer = false

    private(set) var trailers: [(name: String, value: String)] = []
    private var trailerSignature: String?

    init(source: any ByteSource, signing: ChunkSigningState?, signedTrailer: Bool, trailerExpected: Bool) {
        self.source = source
        self.signing = signing
        self.signedTrailer = signedTrailer
        self.trailerExpected = trailerExpected
        buffer = .allocate(byteCount: 64 * 1024, alignment: 16)
    }

    deinit { buffer.deallocate() }

    private func fill() throws -> Bool {
        if start < end { return true }
        if sourceAtEOF { return false }
        let n = try source.read(into: buffer)
        if n == 0 {
            sourceAtEOF = true
            return false
        }
        start = 0
        end = n
        return true
    }

    /// One CRLF-terminated line without its CRLF; nil at a clean EOF before the line starts.
    private func readLine() throws -> [UInt8]? {
        var line: [UInt8] = []
        while true {
            guard try fill() else {
                if line.isEmpty { return nil }
                throw S3Error.incompleteBody("The request body ended inside an aws-chunked header line.")
            }
            let avail = UnsafeRawBufferPointer(rebasing: buffer[start..<end])
            if let i = avail.firstIndex(of: 0x0a) {
                line.append(contentsOf: avail[..<i])
                start += i + 1
                guard line.last == 0x0d else {
                    throw S3Error.incompleteBody("aws-chunked lines must end with CRLF.")
                }
                line.removeLast()
                return line
            }
            line.append(contentsOf: avail)
            start = end
            if line.count > Self.maxLineLength {
                throw S3Error.incompleteBody("aws-chunked header line is too long.")
            }
        }
    }

    /// Decoded bytes; 0 once the final chunk, trailers and end of stream were all seen.
    func read(into out: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            switch state {
            case .header:
                guard let line = try readLine() else {
                    throw S3Error.incompleteBody("The request body ended before the final aws-chunked chunk.")
                }
                try parseChunkHeader(line)
            case .data:
                guard out.count > 0 else { return 0 }
                let want = min(remaining, out.count)
                let n: Int
                if start < end {
                    n = min(want, end - start)
                    out.baseAddress!.copyMemory(from: buffer.baseAddress! + start, byteCount: n)
                    start += n
                } else {
                    n = sourceAtEOF ? 0 : try source.read(into: UnsafeMutableRawBufferPointer(rebasing: out[0..<want]))
                    if n == 0 {
                        sourceAtEOF = true
                        throw S3Error.incompleteBody("The request body ended inside an aws-chunked chunk.")
                    }
                }
                chunkHash?.update(UnsafeRawBufferPointer(rebasing: out[0..<n]))
                remaining -= n
                if remaining == 0 { state = .dataEnd }
                return n
            case .dataEnd:
                guard let line = try readLine(), line.isEmpty else {
                    throw S3Error.incompleteBody("aws-chunked chunk data must be followed by CRLF.")
                }
                try verifyChunk()
                state = .header
            case .trailer:
                guard let line = try readLine() else {
                    try finishTrailers()
                    continue
                }
                if line.isEmpty {
                    // Some senders put a blank line between the final chunk and the trailers.
                    if trailerExpected && trailers.isEmpty && trailerSignature == nil && !skippedBlankBeforeTrailer {
                        skippedBlankBeforeTrailer = true
                        continue
                    }
                    try finishTrailers()
                    continue
                }
                try parseTrailer(line)
            case .done:
                return 0
            }
        }
    }

    private func parseChunkHeader(_ line: [UInt8]) throws {
        let parts = line.split(separator: UInt8(ascii: ";"), omittingEmptySubsequences: false)
        let sizeField = parts[0]
        guard !sizeField.isEmpty, sizeField.count <= 15 else {
            throw S3Error.incompleteBody("Invalid aws-chunked chunk size.")
        }
        var size = 0
        for c in sizeField {
            guard let v = hexValue(c) else { throw S3Error.incompleteBody("Invalid aws-chunked chunk size.") }
            size = size << 4 | Int(v)
        }
        givenSignature = nil
        for ext in parts.dropFirst() {
            let s = String(decoding: ext, as: UTF8.self)
            if s.hasPrefix("chunk-signature=") { givenSignature = String(s.dropFirst("chunk-signature=".count)) }
        }
        if signing != nil {
            guard givenSignature != nil else { throw S3Error.signatureMismatch }
            chunkHash = Digest(.sha256)
        }
        if size == 0 {
            try verifyChunk()
            state = .trailer
        } else {
            remaining = size
            state = .data
        }
    }

    private func verifyChunk() throws {
        guard var s = signing, var hash = chunkHash, let given = givenSignature else { return }
        let expected = Signer.chunkSignature(
            signingKey: s.key, amzDate: s.amzDate, scope: s.scope, previousSignature: s.previous,
            chunkHash: hexEncode(hash.finalize()))
        guard constantTimeEquals(expected, given) else { throw S3Error.signatureMismatch }
        s.previous = expected
        signing = s
        chunkHash = nil
    }

    private func parseTrailer(_ line: [UInt8]) throws {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), trailers.count < Self.maxTrailers else {
            throw S3Error.malformedTrailer
        }
        let name = trimHTTPWhitespace(String(decoding: line[..<colon], as: UTF8.self)).lowercased()
        let value = trimHTTPWhitespace(String(decoding: line[(colon + 1)...], as: UTF8.self))
        if name == "x-amz-trailer-signature" {
            trailerSignature = value
        } else {
            trailers.append((name: name, value: value))
        }
    }

    private func finishTrailers() throws {
        if signedTrailer, let s = signing {
            guard let given = trailerSignature else { throw S3Error.malformedTrailer }
            let expected = Signer.trailerSignature(
                signingKey: s.key, amzDate: s.amzDate, scope: s.scope, previousSignature: s.previous, trailers: trailers
            )
            guard constantTimeEquals(expected, given) else { throw S3Error.signatureMismatch }
        }
        // Bytes after the end of the encoding mean the framing was not what the client meant.
        if try fill() {
            throw S3Error.incompleteBody("Unexpected data after the final aws-chunked chunk.")
        }
        state = .done
    }
}

extension S3Error {
    static let malformedTrailer = S3Error(
        .malformedTrailerError,
        "The request contained trailing data that was not well-formed or did not conform to our published schema.")
}
