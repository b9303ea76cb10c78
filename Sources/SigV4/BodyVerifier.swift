import GatewayCore

// Every byte is checked before an object is committed (DESIGN.md "Data rules"): the declared
// SHA-256, chunk signatures, Content-MD5 and x-amz-checksum-* all in one streaming pass.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html

/// Counts (and, when a SHA-256 was declared, hashes) the body exactly as it arrived.
final class RawTap: ByteSource {
    let source: any ByteSource
    var sha256: Digest?
    private(set) var count: Int64 = 0

    init(_ source: any ByteSource, hashing: Bool) {
        self.source = source
        sha256 = hashing ? Digest(.sha256) : nil
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = try source.read(into: buffer)
        if n > 0 {
            sha256?.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            count += Int64(n)
        }
        return n
    }
}

/// The request body, decoded and verified. `read` returns 0 only after every check passed; on
/// a mismatch it throws the S3 error instead, so nothing may be committed before EOF.
public final class VerifiedBody: ByteSource {
    private let tap: RawTap
    private let decoder: AWSChunkedDecoder?
    private var md5 = LaneMD5()
    private var hashers: [ChecksumHasher] = []
    private let expectedSHA256: String?
    private let expectedMD5: String?
    private let headerChecksum: (algorithm: ChecksumAlgorithm, value: String)?
    private let trailerChecksum: ChecksumAlgorithm?
    private let decodedContentLength: Int64?
    private let contentLength: Int64?
    private var finished = false
    private var failure: S3Error?
    private var md5Result: [UInt8] = []

    public private(set) var decodedLength: Int64 = 0
    /// MD5 of the decoded bytes (the object's ETag); valid after EOF.
    public var md5Hex: String { hexEncode(md5Result) }
    /// Base64 checksums verified, or computed because the client asked for the algorithm; valid after EOF.
    public private(set) var checksums: [ChecksumAlgorithm: String] = [:]

    /// Header names that start with x-amz-checksum- but carry no checksum value.
    private static let checksumControlHeaders: Set<String> = [
        "x-amz-checksum-algorithm", "x-amz-checksum-mode", "x-amz-checksum-type",
    ]

    /// Whether the request declares a digest of its body that will be checked: Content-MD5, an
    /// `x-amz-checksum-<algorithm>` header or an `x-amz-trailer` naming one. S3 demands one on
    /// requests with Object Lock parameters (an algorithm named without a value is not one).
    public static func declaresDigest(_ head: RequestHead) -> Bool {
        head.headers.contains { h in
            h.name == "content-md5" || h.name == "x-amz-trailer"
                || (h.name.hasPrefix("x-amz-checksum-") && !checksumControlHeaders.contains(h.name))
        }
    }

    /// `required`: an algorithm the body must be checksummed with even if the client sent no
    /// checksum (a part of an upload created with one); a different declared algorithm fails.
    public init(source: any ByteSource, head: RequestHead, auth: AuthContext, required: ChecksumAlgorithm? = nil)
        throws(S3Error)
    {
        let encodings = (head.header("content-encoding") ?? "").lowercased().split(separator: ",").map {
            trimHTTPWhitespace(String($0))
        }
        let chunked = auth.payload.isStreaming || encodings.contains("aws-chunked")

        if let md5 = head.header("content-md5") {
            guard let raw = base64Decode(md5), raw.count == 16 else {
                throw S3Error(.invalidDigest, "The Content-MD5 you specified was invalid.")
            }
            expectedMD5 = base64Encode(raw)
        } else {
            expectedMD5 = nil
        }

        var header: (algorithm: ChecksumAlgorithm, value: String)?
        for h in head.headers where h.name.hasPrefix("x-amz-checksum-") && !Self.checksumControlHeaders.contains(h.name)
        {
            guard let algorithm = ChecksumAlgorithm(headerName: h.name) else {
                throw .invalidRequest("The checksum algorithm of \(h.name) is not supported.")
            }
            if let existing = header, existing.algorithm != algorithm || existing.value != h.value {
                throw .invalidRequest(
                    "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
            }
            guard let raw = base64Decode(h.value), raw.count == algorithm.digestLength else {
                throw .invalidRequest("Value for \(h.name) header is invalid.")
            }
            header = (algorithm, h.value)
        }
        headerChecksum = header

        var trailer: ChecksumAlgorithm?
        if let declared = head.header("x-amz-trailer") {
            let names = declared.split(separator: ",").map { trimHTTPWhitespace(String($0)).lowercased() }
            guard names.count == 1, let algorithm = ChecksumAlgorithm(headerName: names[0]) else {
                throw .invalidRequest("The value specified in the x-amz-trailer header is not supported")
            }
            guard chunked else {
                throw .invalidRequest("x-amz-trailer requires an aws-chunked body.")
            }
            guard header == nil else {
                throw .invalidRequest(
                    "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
            }
            trailer = algorithm
        }
        trailerChecksum = trailer

        var requested: ChecksumAlgorithm?
        for name in ["x-amz-sdk-checksum-algorithm", "x-amz-checksum-algorithm"] {
            guard let value = head.header(name) else { continue }
            guard let algorithm = ChecksumAlgorithm(algorithmName: value) else {
                throw .invalidRequest(
                    "Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]"
                )
            }
            if let other = header?.algorithm ?? trailer, other != algorithm {
                throw .invalidRequest("Value for \(name) header is invalid.")
            }
            requested = algorithm
        }
        if let required {
            if let declared = header?.algorithm ?? trailer ?? requested, declared != required {
                throw .invalidRequest(
                    "Checksum Type mismatch occurred, expected checksum Type: \(required.rawValue), actual checksum Type: \(declared.rawValue)"
                )
            }
            requested = required
        }
        for algorithm in Set([header?.algorithm, trailer, requested].compactMap { $0 }) {
            hashers.append(algorithm.makeHasher())
        }

        if chunked, let v = head.header("x-amz-decoded-content-length") {
            guard let n = Int64(v), n >= 0 else { throw .invalidArgument("Invalid x-amz-decoded-content-length.") }
            decodedContentLength = n
        } else {
            decodedContentLength = nil
        }
        contentLength = head.header("content-length").flatMap { Int64($0) }

        if case .sha256(let hex) = auth.payload { expectedSHA256 = hex } else { expectedSHA256 = nil }
        tap = RawTap(source, hashing: expectedSHA256 != nil)

        if chunked {
            var signing: ChunkSigningState?
            var signedTrailer = false
            if case .streamingSigned(let withTrailer) = auth.payload {
                guard let key = auth.signingKey, let seed = auth.seedSignature, let scope = auth.scope,
                    let date = auth.amzDate
                else {
                    throw .invalidRequest("Streaming signed payloads require SigV4 header authentication.")
                }
                signing = ChunkSigningState(key: key, amzDate: date, scope: scope, previous: seed)
                signedTrailer = withTrailer
            }
            decoder = AWSChunkedDecoder(
                source: tap, signing: signing, signedTrailer: signedTrailer, trailerExpected: trailer != nil)
        } else {
            decoder = nil
        }
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if let failure { throw failure }
        // An empty buffer must not be mistaken for the end of the body (and run the final checks).
        if finished || buffer.count == 0 { return 0 }
        do {
            let n = try decoder?.read(into: buffer) ?? tap.read(into: buffer)
            if n > 0 {
                let bytes = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
                md5.update(bytes)
                for h in hashers { h.update(bytes) }
                decodedLength += Int64(n)
                return n
            }
            try finish()
            finished = true
            return 0
        } catch let e as S3Error {
            failure = e
            throw e
        }
    }

    private func finish() throws(S3Error) {
        if let expected = decodedContentLength, expected != decodedLength {
            throw .incompleteBody("The decoded body length does not match x-amz-decoded-content-length.")
        }
        if let expected = contentLength, expected != tap.count {
            throw .incompleteBody(
                "You did not provide the number of bytes specified by the Content-Length HTTP header.")
        }
        if let expected = expectedSHA256, var sha = tap.sha256 {
            guard constantTimeEquals(hexEncode(sha.finalize()), expected) else {
                throw S3Error(
                    .xAmzContentSHA256Mismatch,
                    "The provided 'x-amz-content-sha256' header does not match what was computed.")
            }
        }
        md5Result = md5.finalize()
        if let expected = expectedMD5, base64Encode(md5Result) != expected {
            throw S3Error(.badDigest, "The Content-MD5 you specified did not match what we received.")
        }
        for h in hashers { checksums[h.algorithm] = base64Encode(h.finalize()) }
        if let (algorithm, value) = headerChecksum, checksums[algorithm] != value {
            throw Self.checksumMismatch(algorithm)
        }
        if let decoder {
            for t in decoder.trailers where t.name.hasPrefix("x-amz-checksum-") {
                guard let algorithm = ChecksumAlgorithm(headerName: t.name), algorithm == trailerChecksum else {
                    throw .malformedTrailer
                }
            }
        }
        if let algorithm = trailerChecksum {
            guard let value = decoder?.trailers.first(where: { $0.name == algorithm.headerName })?.value else {
                throw .malformedTrailer
            }
            guard let raw = base64Decode(value), raw.count == algorithm.digestLength else {
                throw .invalidRequest("Value for \(algorithm.headerName) trailing header is invalid.")
            }
            if checksums[algorithm] != value { throw Self.checksumMismatch(algorithm) }
        }
    }

    private static func checksumMismatch(_ algorithm: ChecksumAlgorithm) -> S3Error {
        S3Error(.badDigest, "The \(algorithm.algorithmName) you specified did not match the calculated checksum.")
    }
}
