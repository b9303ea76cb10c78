import GatewayCore
import XCTest

@testable import SigV4

/// AWS's published S3 SigV4 examples, kept verbatim; intermediate stages are asserted too.
final class AWSExampleVectorTests: XCTestCase {
    // MARK: - GET Object
    // https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
    func testGetObject() throws {
        let request = head(
            "GET", "/test.txt",
            [
                ("Host", "examplebucket.s3.amazonaws.com"),
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
                ),
                ("Range", "bytes=0-9"),
                ("x-amz-content-sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
                ("x-amz-date", "20130524T000000Z"),
            ])
        let canonical = """
            GET
            /test.txt

            host:examplebucket.s3.amazonaws.com
            range:bytes=0-9
            x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            x-amz-date:20130524T000000Z

            host;range;x-amz-content-sha256;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """
        let stringToSign = """
            AWS4-HMAC-SHA256
            20130524T000000Z
            20130524/us-east-1/s3/aws4_request
            7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972
            """
        try assertVector(
            request, canonical: canonical, stringToSign: stringToSign,
            signature: "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    // MARK: - PUT Object
    // https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
    func testPutObject() throws {
        let request = head(
            "PUT", "/test%24file.text",
            [
                ("Host", "examplebucket.s3.amazonaws.com"),
                ("Date", "Fri, 24 May 2013 00:00:00 GMT"),
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"
                ),
                ("x-amz-date", "20130524T000000Z"),
                ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
                ("x-amz-content-sha256", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"),
            ])
        let canonical = """
            PUT
            /test%24file.text

            date:Fri, 24 May 2013 00:00:00 GMT
            host:examplebucket.s3.amazonaws.com
            x-amz-content-sha256:44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072
            x-amz-date:20130524T000000Z
            x-amz-storage-class:REDUCED_REDUNDANCY

            date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class
            44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072
            """
        let stringToSign = """
            AWS4-HMAC-SHA256
            20130524T000000Z
            20130524/us-east-1/s3/aws4_request
            9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d
            """
        let auth = try assertVector(
            request, canonical: canonical, stringToSign: stringToSign,
            signature: "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
        // The body of the example, "Welcome to Amazon S3.", must match the declared hash.
        let body = try VerifiedBody(source: MemorySource("Welcome to Amazon S3."), head: request, auth: auth)
        XCTAssertEqual(String(decoding: try drain(body), as: UTF8.self), "Welcome to Amazon S3.")
    }

    // MARK: - GET Bucket Lifecycle
    // https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
    func testGetBucketLifecycle() throws {
        let request = head(
            "GET", "/?lifecycle",
            [
                ("Host", "examplebucket.s3.amazonaws.com"),
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"
                ),
                ("x-amz-date", "20130524T000000Z"),
                ("x-amz-content-sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            ])
        let canonical = """
            GET
            /
            lifecycle=
            host:examplebucket.s3.amazonaws.com
            x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            x-amz-date:20130524T000000Z

            host;x-amz-content-sha256;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """
        let stringToSign = """
            AWS4-HMAC-SHA256
            20130524T000000Z
            20130524/us-east-1/s3/aws4_request
            9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca
            """
        try assertVector(
            request, canonical: canonical, stringToSign: stringToSign,
            signature: "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543")
    }

    // MARK: - GET Bucket (List Objects)
    // https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
    func testListObjects() throws {
        let request = head(
            "GET", "/?max-keys=2&prefix=J",
            [
                ("Host", "examplebucket.s3.amazonaws.com"),
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"
                ),
                ("x-amz-date", "20130524T000000Z"),
                ("x-amz-content-sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            ])
        let canonical = """
            GET
            /
            max-keys=2&prefix=J
            host:examplebucket.s3.amazonaws.com
            x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            x-amz-date:20130524T000000Z

            host;x-amz-content-sha256;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """
        let stringToSign = """
            AWS4-HMAC-SHA256
            20130524T000000Z
            20130524/us-east-1/s3/aws4_request
            df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7
            """
        try assertVector(
            request, canonical: canonical, stringToSign: stringToSign,
            signature: "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")
    }

    // MARK: - Presigned URL
    // https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
    static let presignedURI =
        "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"

    func testPresignedURL() throws {
        let canonical = """
            GET
            /test.txt
            X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host
            host:examplebucket.s3.amazonaws.com

            host
            UNSIGNED-PAYLOAD
            """
        let stringToSign = """
            AWS4-HMAC-SHA256
            20130524T000000Z
            20130524/us-east-1/s3/aws4_request
            3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04
            """
        let request = head("GET", Self.presignedURI, [("Host", "examplebucket.s3.amazonaws.com")])
        XCTAssertEqual(
            CanonicalRequest.build(
                method: "GET", canonicalURI: request.rawPath,
                canonicalQuery: CanonicalRequest.canonicalQuery(request.rawQuery, excluding: "X-Amz-Signature"),
                canonicalHeaders: CanonicalRequest.canonicalHeaders(request.headers, signed: ["host"]),
                signedHeaders: "host", payloadHash: "UNSIGNED-PAYLOAD"), canonical)
        XCTAssertEqual(
            CanonicalRequest.stringToSign(
                amzDate: "20130524T000000Z", scope: "20130524/us-east-1/s3/aws4_request", canonicalRequest: canonical),
            stringToSign)
        let auth = try exampleVerifier.authenticate(request, now: exampleNow + 3600)
        XCTAssertEqual(auth.method, .v4Query)
        XCTAssertEqual(auth.payload, .unsigned)
        XCTAssertEqual(auth.accessKey, exampleAccessKey)
        // The signer produces the same URL.
        XCTAssertEqual(
            Signer.presign(
                method: "GET", rawPath: "/test.txt", host: "examplebucket.s3.amazonaws.com",
                accessKey: exampleAccessKey, secretKey: exampleSecret, region: "us-east-1",
                amzDate: "20130524T000000Z", expires: 86400), Self.presignedURI)
    }

    // MARK: - Signing key derivation
    // https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
    func testSigningKeyMatchesAllExamples() {
        let key = Signer.signingKey(secret: exampleSecret, date: "20130524", region: "us-east-1", service: "s3")
        let sts = """
            AWS4-HMAC-SHA256
            20130524T000000Z
            20130524/us-east-1/s3/aws4_request
            7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972
            """
        XCTAssertEqual(
            Signer.signature(signingKey: key, stringToSign: sts),
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    /// Verifies `request` and checks the canonical request, string to sign and signature the
    /// verifier derives, and that the signer reproduces the same Authorization.
    @discardableResult
    private func assertVector(
        _ request: RequestHead, canonical: String, stringToSign: String, signature: String,
        file: StaticString = #filePath, line: UInt = #line
    ) throws -> AuthContext {
        let auth = request.header("authorization")!
        let signedField = auth.components(separatedBy: "SignedHeaders=")[1].components(separatedBy: ",")[0]
        let signed = signedField.split(separator: ";").map(String.init)
        let built = CanonicalRequest.build(
            method: request.method, canonicalURI: request.rawPath.isEmpty ? "/" : request.rawPath,
            canonicalQuery: CanonicalRequest.canonicalQuery(request.rawQuery),
            canonicalHeaders: CanonicalRequest.canonicalHeaders(request.headers, signed: signed),
            signedHeaders: signedField, payloadHash: request.header("x-amz-content-sha256")!)
        XCTAssertEqual(built, canonical, file: file, line: line)
        XCTAssertEqual(
            CanonicalRequest.stringToSign(
                amzDate: "20130524T000000Z", scope: "20130524/us-east-1/s3/aws4_request", canonicalRequest: built),
            stringToSign, file: file, line: line)

        let context = try exampleVerifier.authenticate(request, now: exampleNow)
        XCTAssertEqual(context.method, .v4Header, file: file, line: line)
        XCTAssertEqual(context.seedSignature, signature, file: file, line: line)
        XCTAssertEqual(context.scope, "20130524/us-east-1/s3/aws4_request", file: file, line: line)
        XCTAssertEqual(context.region, "us-east-1", file: file, line: line)

        let signedHeaders = request.headers.filter { signed.contains($0.name) }
        let out = Signer.sign(
            method: request.method, rawURI: request.rawURI, headers: signedHeaders,
            payloadHash: request.header("x-amz-content-sha256")!, accessKey: exampleAccessKey,
            secretKey: exampleSecret, region: "us-east-1", service: "s3", amzDate: "20130524T000000Z")
        XCTAssertEqual(out.signature, signature, file: file, line: line)
        return context
    }
}
