import GatewayCore
import XCTest

@testable import SigV4

/// The sending side of signed aws-chunks, against AWS's published example and against our own
/// decoder (what one frames, the other accepts; a changed byte is refused).
final class ChunkSignerTests: XCTestCase {
    typealias Example = ChunkedUploadTests

    // MARK: - PUT Object, signed chunks
    // https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html ("Example: PUT Object")
    // 66560 bytes of "a" in 64 KiB chunks, seed signature and chunk signatures as published;
    // the constants are shared with ChunkedUploadTests.

    func testAWSExampleSeedSignature() {
        let headers: [(name: String, value: String)] = [
            ("host", "s3.amazonaws.com"), ("x-amz-date", "20130524T000000Z"),
            ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            ("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"), ("content-encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", "66560"), ("content-length", "66824"),
        ]
        let (authorization, seed) = Signer.sign(
            method: "PUT", rawURI: "/examplebucket/chunkObject.txt", headers: headers,
            payloadHash: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", accessKey: exampleAccessKey, secretKey: exampleSecret,
            region: "us-east-1", service: "s3", amzDate: "20130524T000000Z")
        XCTAssertEqual(seed, Example.seedSignature)
        XCTAssertEqual(
            authorization,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=\(Example.signedHeaders), Signature=\(Example.seedSignature)"
        )
    }

    func testAWSExampleBody() {
        let payload = Example.chunk1 + Example.chunk2
        XCTAssertEqual(ChunkSigner.encodedLength(Int64(payload.count)), 66_824)
        // Every split of the input frames the same body.
        for step in [payload.count, 65_536, 1000, 7] {
            var signer = ChunkSigner(
                secretKey: exampleSecret, region: "us-east-1", service: "s3", amzDate: "20130524T000000Z",
                seedSignature: Example.seedSignature)
            XCTAssertEqual(signer.scope, Example.scope)
            XCTAssertEqual(signer.signingKey, Example.key)
            var out: [UInt8] = []
            var offset = 0
            while offset < payload.count {
                let n = min(step, payload.count - offset)
                payload[offset..<(offset + n)].withUnsafeBytes { signer.write($0) { out.append(contentsOf: $0) } }
                offset += n
            }
            signer.finish { out.append(contentsOf: $0) }
            XCTAssertEqual(out, Example.signedBody(signatures: Example.chunkSignatures), "step \(step)")
            XCTAssertEqual(out.count, 66_824)
            XCTAssertEqual(signer.previousSignature, Example.chunkSignatures.last)
        }
    }

    // MARK: - Own framing, checked by the decoder

    func frame(_ payload: [UInt8], seed: String, chunkSize: Int = ChunkSigner.defaultChunkSize) -> [UInt8] {
        var signer = ChunkSigner(
            signingKey: Example.key, amzDate: "20130524T000000Z", scope: Example.scope, seedSignature: seed,
            chunkSize: chunkSize)
        var out: [UInt8] = []
        payload.withUnsafeBytes { signer.write($0) { out.append(contentsOf: $0) } }
        signer.finish { out.append(contentsOf: $0) }
        return out
    }

    func testEncodedLengthMatchesTheFraming() {
        for length in [0, 1, 15, 16, 8191, 65_535, 65_536, 65_537, 200_000] {
            let body = frame([UInt8](repeating: 1, count: length), seed: Example.seedSignature)
            XCTAssertEqual(Int64(body.count), ChunkSigner.encodedLength(Int64(length)), "length \(length)")
        }
        XCTAssertEqual(
            frame([UInt8](repeating: 1, count: 20_000), seed: Example.seedSignature, chunkSize: 8192).count,
            Int(ChunkSigner.encodedLength(20_000, chunkSize: 8192)))
    }

    func testEmptyPayloadIsOneSignedEmptyChunk() {
        let body = String(decoding: frame([], seed: Example.seedSignature), as: UTF8.self)
        XCTAssertTrue(body.hasPrefix("0;chunk-signature="))
        XCTAssertTrue(body.hasSuffix("\r\n\r\n"))
        XCTAssertEqual(body.utf8.count, 86)
    }

    /// A request signed as the S3 backend signs it, framed by ChunkSigner, passes the gateway's
    /// own verifier; any changed data byte fails it.
    func testDecoderAcceptsOwnFramingAndRefusesATamperedByte() throws {
        let payload = (0..<150_000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        let encoded = ChunkSigner.encodedLength(Int64(payload.count))
        let payloadHash = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
        var headers: [(name: String, value: String)] = [
            ("host", "s3.amazonaws.com"), ("x-amz-date", "20130524T000000Z"), ("x-amz-content-sha256", payloadHash),
            ("content-encoding", "aws-chunked"), ("x-amz-decoded-content-length", String(payload.count)),
            ("content-length", String(encoded)),
        ]
        let (authorization, seed) = Signer.sign(
            method: "PUT", rawURI: "/examplebucket/blob", headers: headers, payloadHash: payloadHash,
            accessKey: exampleAccessKey, secretKey: exampleSecret, region: "us-east-1", service: "s3",
            amzDate: "20130524T000000Z")
        headers.append(("authorization", authorization))
        let request = RequestHead(method: "PUT", rawURI: "/examplebucket/blob", headers: headers)
        let auth = try exampleVerifier.authenticate(request, now: exampleNow)

        let wire = frame(payload, seed: seed)
        XCTAssertEqual(Int64(wire.count), encoded)
        XCTAssertEqual(try drain(try VerifiedBody(source: MemorySource(wire), head: request, auth: auth)), payload)

        var tampered = wire
        tampered[100_000] ^= 1
        XCTAssertThrowsError(
            try drain(try VerifiedBody(source: MemorySource(tampered), head: request, auth: auth)))
    }
}
