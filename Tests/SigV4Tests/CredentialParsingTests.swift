import XCTest

@testable import SigV4

/// The SigV4 credential scope as the verifier reads it from `Credential=` and
/// `X-Amz-Credential`: the well-formed shape, and each way it can be wrong with the reason S3
/// gives for it.
final class CredentialParsingTests: XCTestCase {
    func testAWellFormedCredentialIsItsFiveParts() throws {
        let (c, reason) = Verifier.parseCredential("AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request")
        let credential = try XCTUnwrap(c)
        XCTAssertEqual(reason, "")
        XCTAssertEqual(credential.accessKey, "AKIAIOSFODNN7EXAMPLE")
        XCTAssertEqual(credential.date, "20130524")
        XCTAssertEqual(credential.region, "us-east-1")
        XCTAssertEqual(credential.service, "s3")
        XCTAssertEqual(credential.scope, "20130524/us-east-1/s3/aws4_request")
        // A region may be a LocationConstraint list (s3cmd); STS names its own service.
        XCTAssertEqual(Verifier.parseCredential("AK/20260101/fi,se/s3/aws4_request").0?.region, "fi,se")
        XCTAssertEqual(Verifier.parseCredential("AK/20260101/r/sts/aws4_request", service: "sts").0?.service, "sts")
        XCTAssertEqual(Verifier.parseCredential("ÄK-ü/20260101/régión/s3/aws4_request").0?.accessKey, "ÄK-ü")
    }

    func testEveryMalformedCredentialSaysWhy() {
        let malformed = "the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\"."
        let cases: [(String, String, String)] = [
            ("", "s3", malformed),
            ("AK", "s3", malformed),
            ("AK/20130524/us-east-1/s3", "s3", malformed),
            ("AK/20130524/us-east-1/s3/aws4_request/", "s3", malformed),
            ("AK/20130524/us-east-1/s3/aws4_request/x/y", "s3", malformed),
            ("/20130524/us-east-1/s3/aws4_request", "s3", malformed),
            ("AK/20130524//s3/aws4_request", "s3", malformed),
            (
                "AK/2013052/us-east-1/s3/aws4_request", "s3",
                "incorrect date format \"2013052\". This date in the credential must be in the format \"yyyyMMdd\"."
            ),
            (
                "AK/2013O524/us-east-1/s3/aws4_request", "s3",
                "incorrect date format \"2013O524\". This date in the credential must be in the format \"yyyyMMdd\"."
            ),
            (
                "AK/20130524/us-east-1/sts/aws4_request", "s3",
                "incorrect service \"sts\". This endpoint belongs to \"s3\"."
            ),
            (
                "AK/20130524/us-east-1/S3/aws4_request", "s3",
                "incorrect service \"S3\". This endpoint belongs to \"s3\"."
            ),
            (
                "AK/20130524/us-east-1/s3/aws4_requesT", "s3",
                "incorrect terminal \"aws4_requesT\". This endpoint uses \"aws4_request\"."
            ),
            ("AK/20130524/us-east-1/s3/", "s3", "incorrect terminal \"\". This endpoint uses \"aws4_request\"."),
        ]
        for (credential, service, reason) in cases {
            let (parsed, why) = Verifier.parseCredential(credential, service: service)
            XCTAssertNil(parsed, credential)
            XCTAssertEqual(why, reason, credential)
        }
    }
}
