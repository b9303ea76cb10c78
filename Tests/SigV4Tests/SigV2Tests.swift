import GatewayCore
import XCTest

@testable import SigV4

/// SigV2 header and query authentication.
/// https://docs.aws.amazon.com/AmazonS3/latest/userguide/RESTAuthentication.html
final class SigV2Tests: XCTestCase {
    // MARK: - AWS examples (virtual-hosted bucket "johnsmith"; signatures cross-checked with
    // an independent HMAC-SHA1 implementation)
    // https://docs.aws.amazon.com/AmazonS3/latest/userguide/RESTAuthentication.html#RESTAuthenticationExamples

    func testObjectGET() throws {
        let date = "Tue, 27 Mar 2007 19:36:42 +0000"
        let h = head(
            "GET", "/photos/puppy.jpg",
            [
                ("Host", "johnsmith.s3.amazonaws.com"), ("Date", date),
                ("Authorization", "AWS AKIAIOSFODNN7EXAMPLE:bWq2s1WEIj+Ydj0vQ697zp+IXMU="),
            ])
        XCTAssertEqual(
            Verifier.stringToSignV2(h, dateLine: date, virtualHostedBucket: "johnsmith"),
            "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/johnsmith/photos/puppy.jpg")
        let auth = try exampleVerifier.authenticate(
            h, now: Double(HTTPDate.parseHTTP(date)!), virtualHostedBucket: "johnsmith")
        XCTAssertEqual(auth.method, .v2Header)
        XCTAssertEqual(auth.payload, .notDeclared)
        // Path-style, the same resource.
        let pathStyle = head(
            "GET", "/johnsmith/photos/puppy.jpg",
            [
                ("Host", "s3.amazonaws.com"), ("Date", date),
                ("Authorization", "AWS AKIAIOSFODNN7EXAMPLE:bWq2s1WEIj+Ydj0vQ697zp+IXMU="),
            ])
        XCTAssertNoThrow(try exampleVerifier.authenticate(pathStyle, now: Double(HTTPDate.parseHTTP(date)!)))
    }

    func testObjectPUT() throws {
        let date = "Tue, 27 Mar 2007 21:15:45 +0000"
        let h = head(
            "PUT", "/johnsmith/photos/puppy.jpg",
            [
                ("Content-Type", "image/jpeg"), ("Content-Length", "94328"), ("Host", "s3.amazonaws.com"),
                ("Date", date), ("Authorization", "AWS AKIAIOSFODNN7EXAMPLE:MyyxeRY7whkBe+bq8fHCL/2kKUg="),
            ])
        XCTAssertEqual(
            Verifier.stringToSignV2(h, dateLine: date),
            "PUT\n\nimage/jpeg\nTue, 27 Mar 2007 21:15:45 +0000\n/johnsmith/photos/puppy.jpg")
        XCTAssertNoThrow(try exampleVerifier.authenticate(h, now: Double(HTTPDate.parseHTTP(date)!)))
    }

    func testListAndACL() throws {
        let listDate = "Tue, 27 Mar 2007 19:42:41 +0000"
        let list = head(
            "GET", "/?prefix=photos&max-keys=50&marker=puppy",
            [
                ("Host", "johnsmith.s3.amazonaws.com"), ("Date", listDate),
                ("Authorization", "AWS AKIAIOSFODNN7EXAMPLE:htDYFYduRNen8P9ZfE/s9SuKy0U="),
            ])
        XCTAssertEqual(
            Verifier.stringToSignV2(list, dateLine: listDate, virtualHostedBucket: "johnsmith"),
            "GET\n\n\nTue, 27 Mar 2007 19:42:41 +0000\n/johnsmith/")
        XCTAssertNoThrow(
            try exampleVerifier.authenticate(
                list, now: Double(HTTPDate.parseHTTP(listDate)!), virtualHostedBucket: "johnsmith"))

        let aclDate = "Tue, 27 Mar 2007 19:44:46 +0000"
        let acl = head(
            "GET", "/?acl",
            [
                ("Host", "johnsmith.s3.amazonaws.com"), ("Date", aclDate),
                ("Authorization", "AWS AKIAIOSFODNN7EXAMPLE:c2WLPFtWHVgbEmeEG93a4cG37dM="),
            ])
        XCTAssertNoThrow(
            try exampleVerifier.authenticate(
                acl, now: Double(HTTPDate.parseHTTP(aclDate)!), virtualHostedBucket: "johnsmith"))
    }

    // MARK: - Query string authentication example
    // https://docs.aws.amazon.com/AmazonS3/latest/userguide/RESTAuthentication.html#RESTAuthenticationQueryStringAuth

    func testPresignedExample() throws {
        let h = head(
            "GET",
            "/photos/puppy.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1175139620&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D",
            [("Host", "johnsmith.s3.amazonaws.com")])
        XCTAssertEqual(
            Verifier.stringToSignV2(h, dateLine: "1175139620", virtualHostedBucket: "johnsmith"),
            "GET\n\n\n1175139620\n/johnsmith/photos/puppy.jpg")
        let auth = try exampleVerifier.authenticate(h, now: 1_175_139_000, virtualHostedBucket: "johnsmith")
        XCTAssertEqual(auth.method, .v2Query)
        assertS3Error("AccessDenied") {
            _ = try exampleVerifier.authenticate(h, now: 1_175_139_621, virtualHostedBucket: "johnsmith")
        }
        assertS3Error("SignatureDoesNotMatch") {
            _ = try exampleVerifier.authenticate(h, now: 1_175_139_000, virtualHostedBucket: "otherbucket")
        }
        var incomplete = h
        incomplete.rawURI = "/photos/puppy.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=x"
        assertS3Error("AccessDenied") { _ = try exampleVerifier.authenticate(incomplete, now: 1_175_139_000) }
    }

    // MARK: - s3cmd --signature-v2: RFC 1123 x-amz-date, empty Date line

    func s3cmdRequest(date: String = "Fri, 24 May 2013 00:00:00 GMT", secret: String = exampleSecret) -> RequestHead {
        let sts =
            "PUT\n\ntext/plain\n\nx-amz-date:\(date)\nx-amz-meta-s3cmd-attrs:a:1/b:2\nx-amz-storage-class:STANDARD\n/bucket/dir/file.txt?acl"
        let signature = Signer.signatureV2(secretKey: secret, stringToSign: sts)
        return head(
            "PUT", "/bucket/dir/file.txt?acl",
            [
                ("Host", "localhost"), ("Content-Type", "text/plain"), ("x-amz-date", date),
                ("x-amz-storage-class", "STANDARD"), ("x-amz-meta-s3cmd-attrs", "a:1/b:2"),
                ("Authorization", "AWS \(exampleAccessKey):\(signature)"),
            ])
    }

    func testS3cmdSignatureV2() throws {
        XCTAssertEqual(try exampleVerifier.authenticate(s3cmdRequest(), now: exampleNow).method, .v2Header)
        assertS3Error("RequestTimeTooSkewed") {
            _ = try exampleVerifier.authenticate(s3cmdRequest(), now: exampleNow + 3600)
        }
        assertS3Error("SignatureDoesNotMatch") {
            _ = try exampleVerifier.authenticate(s3cmdRequest(secret: "wrong"), now: exampleNow)
        }
    }

    func testSubResources() {
        let h = head("POST", "/b/k?uploads=&foo=bar&versionId=a%2Fb&partNumber=2", [])
        XCTAssertEqual(
            Verifier.canonicalizedResourceV2(h, virtualHostedBucket: nil), "/b/k?partNumber=2&uploads=&versionId=a/b")
        XCTAssertEqual(
            Verifier.canonicalizedResourceV2(head("POST", "/b/k?uploads", []), virtualHostedBucket: nil), "/b/k?uploads"
        )
    }

    func testMalformedAndUnknown() {
        let date = "Fri, 24 May 2013 00:00:00 GMT"
        let malformed = head("GET", "/", [("Date", date), ("Authorization", "AWS AKIAIOSFODNN7EXAMPLE")])
        assertS3Error("InvalidArgument") { _ = try exampleVerifier.authenticate(malformed, now: exampleNow) }
        let unknown = head("GET", "/", [("Date", date), ("Authorization", "AWS AKIDNOPE:abcd")])
        assertS3Error("InvalidAccessKeyId") { _ = try exampleVerifier.authenticate(unknown, now: exampleNow) }
        let noDate = head("GET", "/", [("Authorization", "AWS AKIAIOSFODNN7EXAMPLE:abcd")])
        assertS3Error("AccessDenied") { _ = try exampleVerifier.authenticate(noDate, now: exampleNow) }
    }
}
