import GatewayCore
import XCTest

@testable import SigV4

/// aws-chunked bodies: AWS's published vectors, the unsigned-trailer shape botocore sends, and
/// broken framing.
final class ChunkedUploadTests: XCTestCase {
    static let scope = "20130524/us-east-1/s3/aws4_request"
    static let key = Signer.signingKey(secret: exampleSecret, date: "20130524", region: "us-east-1", service: "s3")
    static let chunk1 = [UInt8](repeating: UInt8(ascii: "a"), count: 65536)
    static let chunk2 = [UInt8](repeating: UInt8(ascii: "a"), count: 1024)

    // MARK: - PUT Object, signed chunks
    // https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
    static let seedSignature = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
    static let chunkSignatures = [
        "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
        "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
        "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
    ]

    static let signedHeaders =
        "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class"

    static func streamingHead(
        seed: String, payload: String, signedHeaders: String = signedHeaders, extra: [(String, String)] = []
    ) -> RequestHead {
        head(
            "PUT", "/examplebucket/chunkObject.txt",
            [
                ("Host", "s3.amazonaws.com"),
                ("x-amz-date", "20130524T000000Z"),
                ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=\(signedHeaders),Signature=\(seed)"
                ),
                ("x-amz-content-sha256", payload),
                ("Content-Encoding", "aws-chunked"),
                ("x-amz-decoded-content-length", "66560"),
                ("Content-Length", "66824"),
            ] + extra)
    }

    static func signedBody(signatures: [String], tail: String = "\r\n") -> [UInt8] {
        Array("10000;chunk-signature=\(signatures[0])\r\n".utf8) + chunk1 + Array("\r\n".utf8)
            + Array("400;chunk-signature=\(signatures[1])\r\n".utf8) + chunk2 + Array("\r\n".utf8)
            + Array("0;chunk-signature=\(signatures[2])\r\n".utf8) + Array(tail.utf8)
    }

    func testAWSSignedChunksExample() throws {
        let request = Self.streamingHead(seed: Self.seedSignature, payload: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
        let canonical = """
            PUT
            /examplebucket/chunkObject.txt

            content-encoding:aws-chunked
            content-length:66824
            host:s3.amazonaws.com
            x-amz-content-sha256:STREAMING-AWS4-HMAC-SHA256-PAYLOAD
            x-amz-date:20130524T000000Z
            x-amz-decoded-content-length:66560
            x-amz-storage-class:REDUCED_REDUNDANCY

            content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class
            STREAMING-AWS4-HMAC-SHA256-PAYLOAD
            """
        let signed = [
            "content-encoding", "content-length", "host", "x-amz-content-sha256", "x-amz-date",
            "x-amz-decoded-content-length", "x-amz-storage-class",
        ]
        let built = CanonicalRequest.build(
            method: "PUT", canonicalURI: request.rawPath, canonicalQuery: "",
            canonicalHeaders: CanonicalRequest.canonicalHeaders(request.headers, signed: signed),
            signedHeaders: signed.joined(separator: ";"), payloadHash: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
        XCTAssertEqual(built, canonical)
        XCTAssertEqual(
            CanonicalRequest.stringToSign(amzDate: "20130524T000000Z", scope: Self.scope, canonicalRequest: built),
            """
            AWS4-HMAC-SHA256
            20130524T000000Z
            20130524/us-east-1/s3/aws4_request
            cee3fed04b70f867d036f722359b0b1f2f0e5dc0efadbc082b76c4c60e316455
            """)

        // First chunk's string to sign, as printed in the example.
        XCTAssertEqual(
            Signer.chunkStringToSign(
                amzDate: "20130524T000000Z", scope: Self.scope, previousSignature: Self.seedSignature,
                chunkHash: hexEncode(Digest.hash(.sha256, Self.chunk1))),
            """
            AWS4-HMAC-SHA256-PAYLOAD
            20130524T000000Z
            20130524/us-east-1/s3/aws4_request
            4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            bf718b6f653bebc184e1479f1935b8da974d701b893afcf49e701f3e2f9f9c5a
            """)
        var previous = Self.seedSignature
        for (chunk, expected) in zip([Self.chunk1, Self.chunk2, []], Self.chunkSignatures) {
            previous = Signer.chunkSignature(
                signingKey: Self.key, amzDate: "20130524T000000Z", scope: Self.scope, previousSignature: previous,
                chunk: chunk)
            XCTAssertEqual(previous, expected)
        }

        let auth = try exampleVerifier.authenticate(request, now: exampleNow)
        XCTAssertEqual(auth.payload, .streamingSigned(trailer: false))
        XCTAssertEqual(auth.seedSignature, Self.seedSignature)
        let wire = Self.signedBody(signatures: Self.chunkSignatures)
        XCTAssertEqual(wire.count, 66824)
        for step in [wire.count, 65536, 1000, 7, 1] {
            let body = try VerifiedBody(source: TrickleSource(wire, step: step), head: request, auth: auth)
            let decoded = try drain(body, bufferSize: step == 1 ? 3 : 8192)
            XCTAssertEqual(decoded, Self.chunk1 + Self.chunk2, "step \(step)")
            XCTAssertEqual(body.decodedLength, 66560)
            XCTAssertEqual(body.md5Hex, hexEncode(Digest.hash(.md5, Self.chunk1 + Self.chunk2)))
        }
    }

    func testBadChunkSignature() throws {
        let request = Self.streamingHead(seed: Self.seedSignature, payload: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
        let auth = try exampleVerifier.authenticate(request, now: exampleNow)
        for i in 0..<3 {
            var sigs = Self.chunkSignatures
            sigs[i] = String(sigs[i].reversed())
            let body = try VerifiedBody(
                source: MemorySource(Self.signedBody(signatures: sigs)), head: request, auth: auth)
            assertS3Error("SignatureDoesNotMatch") { _ = try drain(body) }
        }
        // Chunks swapped: each is valid for some position, but the chain breaks.
        var tampered = Self.signedBody(signatures: Self.chunkSignatures)
        tampered[100] = UInt8(ascii: "b")
        let body = try VerifiedBody(source: MemorySource(tampered), head: request, auth: auth)
        assertS3Error("SignatureDoesNotMatch") { _ = try drain(body) }
        // A signed stream whose chunk has no signature at all.
        let unsigned = Array("5\r\nhello\r\n0\r\n\r\n".utf8)
        let body2 = try VerifiedBody(source: MemorySource(unsigned), head: request, auth: auth)
        assertS3Error("SignatureDoesNotMatch") { _ = try drain(body2) }
    }

    func testErrorIsSticky() throws {
        let request = Self.streamingHead(seed: Self.seedSignature, payload: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
        let auth = try exampleVerifier.authenticate(request, now: exampleNow)
        var sigs = Self.chunkSignatures
        sigs[2] = String(repeating: "0", count: 64)
        let body = try VerifiedBody(source: MemorySource(Self.signedBody(signatures: sigs)), head: request, auth: auth)
        assertS3Error("SignatureDoesNotMatch") { _ = try drain(body) }
        assertS3Error("SignatureDoesNotMatch") { _ = try drain(body) }
    }

    // MARK: - PUT Object, signed chunks with a trailing checksum
    // https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html
    static let trailerSeed = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"
    static let trailerChunkSignatures = [
        "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
        "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
        "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
    ]
    static let trailerSignature = "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435"

    /// This example signs x-amz-trailer and not content-length.
    static let trailerSignedHeaders =
        "content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer"

    func trailerRequest() throws -> (RequestHead, AuthContext) {
        var request = Self.streamingHead(
            seed: Self.trailerSeed, payload: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
            signedHeaders: Self.trailerSignedHeaders, extra: [("x-amz-trailer", "x-amz-checksum-crc32c")])
        // Content-Length is not signed here and the trailer makes the body longer: send it chunked.
        request.headers.removeAll { $0.name == "content-length" }
        return (request, try exampleVerifier.authenticate(request, now: exampleNow))
    }

    func testAWSTrailerExample() throws {
        let (request, auth) = try trailerRequest()
        let signed = Self.trailerSignedHeaders.split(separator: ";").map(String.init)
        let canonical = CanonicalRequest.build(
            method: "PUT", canonicalURI: request.rawPath, canonicalQuery: "",
            canonicalHeaders: CanonicalRequest.canonicalHeaders(request.headers, signed: signed),
            signedHeaders: Self.trailerSignedHeaders, payloadHash: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER")
        XCTAssertEqual(
            CanonicalRequest.stringToSign(amzDate: "20130524T000000Z", scope: Self.scope, canonicalRequest: canonical),
            """
            AWS4-HMAC-SHA256
            20130524T000000Z
            20130524/us-east-1/s3/aws4_request
            44d48b8c2f70eae815a0198cc73d7a546a73a93359c070abbaa5e6c7de112559
            """)
        XCTAssertEqual(auth.payload, .streamingSigned(trailer: true))
        XCTAssertEqual(auth.seedSignature, Self.trailerSeed)
        XCTAssertEqual(base64Encode(CRC32C.hashing(Self.chunk1 + Self.chunk2)), "sOO8/Q==")
        XCTAssertEqual(
            Signer.trailerSignature(
                signingKey: Self.key, amzDate: "20130524T000000Z", scope: Self.scope,
                previousSignature: Self.trailerChunkSignatures[2],
                trailers: [(name: "x-amz-checksum-crc32c", value: "sOO8/Q==")]), Self.trailerSignature)

        let trailer = "x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:\(Self.trailerSignature)\r\n"
        // As AWS documents it, with the blank line some senders add after the final chunk, and
        // without the closing blank line.
        for tail in [trailer + "\r\n", "\r\n" + trailer + "\r\n", trailer] {
            let wire = Self.signedBody(signatures: Self.trailerChunkSignatures, tail: tail)
            for step in [wire.count, 4099, 13] {
                let body = try VerifiedBody(source: TrickleSource(wire, step: step), head: request, auth: auth)
                XCTAssertEqual(try drain(body).count, 66560)
                XCTAssertEqual(body.checksums, [.crc32c: "sOO8/Q=="])
            }
        }
    }

    func testWrongTrailerChecksumAndSignature() throws {
        let (request, auth) = try trailerRequest()
        // Right signature chain, but the checksum is for other data: the trailer signature
        // (over "AAAAAA==") no longer matches.
        let forged = "x-amz-checksum-crc32c:AAAAAA==\r\nx-amz-trailer-signature:\(Self.trailerSignature)\r\n\r\n"
        var body = try VerifiedBody(
            source: MemorySource(Self.signedBody(signatures: Self.trailerChunkSignatures, tail: forged)), head: request,
            auth: auth)
        assertS3Error("SignatureDoesNotMatch") { _ = try drain(body) }

        // A correctly signed trailer carrying a wrong checksum: BadDigest.
        let wrongSig = Signer.trailerSignature(
            signingKey: Self.key, amzDate: "20130524T000000Z", scope: Self.scope,
            previousSignature: Self.trailerChunkSignatures[2],
            trailers: [(name: "x-amz-checksum-crc32c", value: "AAAAAA==")])
        let signedWrong = "x-amz-checksum-crc32c:AAAAAA==\r\nx-amz-trailer-signature:\(wrongSig)\r\n\r\n"
        body = try VerifiedBody(
            source: MemorySource(Self.signedBody(signatures: Self.trailerChunkSignatures, tail: signedWrong)),
            head: request, auth: auth)
        assertS3Error("BadDigest") { _ = try drain(body) }

        // Trailer signature missing.
        body = try VerifiedBody(
            source: MemorySource(
                Self.signedBody(signatures: Self.trailerChunkSignatures, tail: "x-amz-checksum-crc32c:sOO8/Q==\r\n\r\n")
            ),
            head: request, auth: auth)
        assertS3Error("MalformedTrailerError") { _ = try drain(body) }
    }

    // MARK: - STREAMING-UNSIGNED-PAYLOAD-TRAILER (botocore over HTTPS, CLIENTS.md)

    func unsignedTrailerHead(_ extra: [(String, String)] = []) -> RequestHead {
        let headers: [(String, String)] = [
            ("Host", "localhost:8080"),
            ("x-amz-date", "20130524T000000Z"),
            ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
            ("Content-Encoding", "aws-chunked"),
            ("Transfer-Encoding", "chunked"),
            ("x-amz-trailer", "x-amz-checksum-crc32"),
            ("x-amz-sdk-checksum-algorithm", "CRC32"),
        ]
        let unsigned = headers + extra
        let out = Signer.sign(
            method: "PUT", rawURI: "/bucket/key", headers: unsigned.map { (name: $0.0, value: $0.1) },
            payloadHash: "STREAMING-UNSIGNED-PAYLOAD-TRAILER", accessKey: exampleAccessKey, secretKey: exampleSecret,
            region: "us-east-1", service: "s3", amzDate: "20130524T000000Z")
        return head("PUT", "/bucket/key", unsigned + [("Authorization", out.authorization)])
    }

    func testUnsignedTrailerFromClientsDoc() throws {
        let request = unsignedTrailerHead()
        let auth = try exampleVerifier.authenticate(request, now: exampleNow)
        XCTAssertEqual(auth.payload, .streamingUnsignedTrailer)
        let wire = "a\r\n0123456789\r\n0\r\nx-amz-checksum-crc32:poTHxg==\r\n\r\n"
        for step in [wire.utf8.count, 5, 1] {
            let body = try VerifiedBody(source: TrickleSource(Array(wire.utf8), step: step), head: request, auth: auth)
            XCTAssertEqual(String(decoding: try drain(body), as: UTF8.self), "0123456789")
            XCTAssertEqual(body.checksums, [.crc32: "poTHxg=="])
            XCTAssertEqual(body.decodedLength, 10)
            XCTAssertEqual(body.md5Hex, "781e5e245d69b566979b86e28d23f2c7")
        }
    }

    func testWrongUnsignedTrailerChecksum() throws {
        let request = unsignedTrailerHead()
        let auth = try exampleVerifier.authenticate(request, now: exampleNow)
        func run(_ wire: String) throws -> String? {
            let body = try VerifiedBody(source: MemorySource(wire), head: request, auth: auth)
            return authCode { _ = try drain(body) }
        }
        XCTAssertEqual(try run("a\r\n0123456789\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"), "BadDigest")
        XCTAssertEqual(try run("a\r\n0123456789\r\n0\r\nx-amz-checksum-crc32:!!\r\n\r\n"), "InvalidRequest")
        XCTAssertEqual(try run("a\r\n0123456789\r\n0\r\n\r\n"), "MalformedTrailerError")
        XCTAssertEqual(
            try run("a\r\n0123456789\r\n0\r\nx-amz-checksum-sha1:AAAAAA==\r\n\r\n"), "MalformedTrailerError")
        XCTAssertEqual(try run("a\r\n0123456789\r\n0\r\nno colon here\r\n\r\n"), "MalformedTrailerError")
    }

    // MARK: - Broken framing

    func testBrokenFraming() throws {
        let request = unsignedTrailerHead()
        let auth = try exampleVerifier.authenticate(request, now: exampleNow)
        let trailer = "0\r\nx-amz-checksum-crc32:poTHxg==\r\n\r\n"
        let cases: [(String, String)] = [
            ("bad hex size", "zz\r\n0123456789\r\n" + trailer),
            ("empty size", "\r\n0123456789\r\n" + trailer),
            ("size too long", "0000000000000000a\r\n0123456789\r\n" + trailer),
            ("missing CRLF after data", "a\r\n0123456789" + trailer),
            ("data longer than size", "9\r\n0123456789\r\n" + trailer),
            ("LF without CR", "a\n0123456789\r\n" + trailer),
            ("truncated data", "a\r\n01234"),
            ("truncated header", "a"),
            ("no final chunk", "a\r\n0123456789\r\n"),
            ("empty body", ""),
            ("garbage after end", "a\r\n0123456789\r\n" + trailer + "junk"),
            ("huge header line", String(repeating: "a", count: 10_000) + "\r\n"),
        ]
        for (name, wire) in cases {
            let body = try VerifiedBody(source: MemorySource(wire), head: request, auth: auth)
            XCTAssertEqual(authCode { _ = try drain(body) }, "IncompleteBody", name)
        }
    }

    func testDecodedContentLengthMismatch() throws {
        let request = unsignedTrailerHead([("x-amz-decoded-content-length", "11")])
        let auth = try exampleVerifier.authenticate(request, now: exampleNow)
        let body = try VerifiedBody(
            source: MemorySource("a\r\n0123456789\r\n0\r\nx-amz-checksum-crc32:poTHxg==\r\n\r\n"), head: request,
            auth: auth)
        assertS3Error("IncompleteBody") { _ = try drain(body) }
    }

    /// Behind nginx with request buffering the body arrives de-chunked with a Content-Length but
    /// still Content-Encoding: aws-chunked, and the payload hash may be a plain hex digest.
    func testAwsChunkedContentEncodingWithHexPayload() throws {
        let wire = Array("a\r\n0123456789\r\n0\r\n\r\n".utf8)
        let hash = hexEncode(Digest.hash(.sha256, wire))
        let request = head(
            "PUT", "/b/k",
            [
                ("Content-Encoding", "gzip, aws-chunked"), ("x-amz-content-sha256", hash),
                ("Content-Length", String(wire.count)),
            ])
        let auth = AuthContext(accessKey: "", method: .anonymous, payload: .sha256(hash))
        let body = try VerifiedBody(source: MemorySource(wire), head: request, auth: auth)
        XCTAssertEqual(String(decoding: try drain(body), as: UTF8.self), "0123456789")
    }
}

extension CRC32C {
    static func hashing(_ bytes: [UInt8]) -> [UInt8] {
        var c = CRC32C()
        c.update(bytes)
        return c.finalize()
    }
}
