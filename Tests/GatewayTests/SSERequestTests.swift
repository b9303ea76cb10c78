import Foundation
import GatewayCore
import S3Protocol
import SigV4
import XCTest

@testable import Gateway

/// Every SSE header error S3 answers, and the effective encryption of a write.
final class SSERequestTests: XCTestCase {
    static let key = [UInt8](0..<32)
    static let keyB64 = base64Encode(key)
    static let keyMD5 = base64Encode(Digest.hash(.md5, key))

    static func ssec(_ prefix: String = SSERequest.customerPrefix) -> [(String, String)] {
        [(prefix + "algorithm", "AES256"), (prefix + "key", keyB64), (prefix + "key-md5", keyMD5)]
    }

    func parse(
        _ headers: [(String, String)], _ op: SSERequest.Operation = .putObject, secure: Bool = true
    ) throws(S3Error) -> SSERequest {
        try SSERequest(headers: headers.map { (name: $0.0, value: $0.1) }, op, secure: secure)
    }

    func assertError(
        _ headers: [(String, String)], op: SSERequest.Operation = .putObject, secure: Bool = true,
        _ code: S3ErrorCode, _ message: String? = nil, file: StaticString = #filePath, line: UInt = #line
    ) {
        do {
            _ = try parse(headers, op, secure: secure)
            XCTFail("accepted \(headers)", file: file, line: line)
        } catch {
            XCTAssertEqual(error.code, code, "\(headers): \(error.message)", file: file, line: line)
            if let message { XCTAssertEqual(error.message, message, file: file, line: line) }
            for (_, value) in error.extra {
                XCTAssertFalse(value.contains(Self.keyB64), "the key in the error", file: file, line: line)
            }
            XCTAssertFalse(error.message.contains(Self.keyB64), file: file, line: line)
        }
    }

    func testModesOfAWrite() throws {
        XCTAssertEqual(try parse([]).requested, .none)
        XCTAssertEqual(try parse([("x-amz-server-side-encryption", "AES256")]).requested, .s3)
        XCTAssertEqual(try parse([("x-amz-server-side-encryption", "aws:kms")]).requested, .kms(keyId: nil))
        let kms = try parse([
            ("x-amz-server-side-encryption", "aws:kms"), ("x-amz-server-side-encryption-aws-kms-key-id", "alias/k"),
            ("x-amz-server-side-encryption-bucket-key-enabled", "true"),
        ])
        XCTAssertEqual(kms.requested, .kms(keyId: "alias/k"))
        XCTAssertEqual(kms.bucketKeyEnabled, true)
        let c = try parse(Self.ssec())
        XCTAssertEqual(c.requested, .customer)
        XCTAssertEqual(c.customerKey?.md5, Self.keyMD5)
        c.customerKey?.withBytes { XCTAssertEqual(Array($0), Self.key) }
        XCTAssertEqual("\(c.customerKey!)", "CustomerKey(redacted)")
        for op: SSERequest.Operation in [.copyObject, .createMultipartUpload, .postObject] {
            XCTAssertEqual(try parse([("x-amz-server-side-encryption", "AES256")], op).requested, .s3)
        }
    }

    func testAlgorithmErrors() {
        assertError(
            [("x-amz-server-side-encryption", "AES128")], .invalidArgument,
            "The encryption method specified is not supported")
        assertError([("x-amz-server-side-encryption", "aes256")], .invalidArgument)
        assertError([("x-amz-server-side-encryption", "")], .invalidArgument)
        assertError([("x-amz-server-side-encryption", "aws:kms:dsse")], .notImplemented)
        let kmsOnly =
            "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms"
        assertError([("x-amz-server-side-encryption-aws-kms-key-id", "k")], .invalidArgument, kmsOnly)
        assertError(
            [("x-amz-server-side-encryption", "AES256"), ("x-amz-server-side-encryption-aws-kms-key-id", "k")],
            .invalidArgument, kmsOnly)
        assertError(
            [("x-amz-server-side-encryption", "aws:kms"), ("x-amz-server-side-encryption-aws-kms-key-id", "")],
            .invalidArgument)
        assertError([("x-amz-server-side-encryption-context", "e30=")], .invalidArgument, kmsOnly)
        assertError(
            [("x-amz-server-side-encryption", "aws:kms"), ("x-amz-server-side-encryption-context", "e30=")],
            .notImplemented)
        assertError(
            [("x-amz-server-side-encryption", "aws:kms"), ("x-amz-server-side-encryption-bucket-key-enabled", "yes")],
            .invalidArgument)
        // Reads and parts follow the object: the header is an error there.
        for op: SSERequest.Operation in [.getObject, .uploadPart, .uploadPartCopy] {
            assertError(
                [("x-amz-server-side-encryption", "AES256")], op: op, .invalidArgument,
                "x-amz-server-side-encryption header is not supported for this operation.")
        }
    }

    func testCustomerKeyErrors() {
        let p = SSERequest.customerPrefix
        var h = Self.ssec()
        assertError(
            h, secure: false, .invalidRequest,
            "Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection."
        )
        assertError(
            h + [("x-amz-server-side-encryption", "AES256")], .invalidArgument,
            "Server Side Encryption with Customer provided key is incompatible with the encryption method specified")
        h[0].1 = "AES128"
        assertError(h, .invalidEncryptionAlgorithm)
        assertError(Array(Self.ssec().dropFirst()), .invalidArgument)  // no algorithm
        assertError([Self.ssec()[0], Self.ssec()[2]], .invalidArgument)  // no key
        assertError(Array(Self.ssec().dropLast()), .invalidArgument)  // no MD5
        let short = base64Encode(Array(Self.key.prefix(16)))
        assertError(
            [(p + "algorithm", "AES256"), (p + "key", short), (p + "key-md5", Self.keyMD5)], .invalidArgument,
            "The secret key was invalid for the specified algorithm.")
        assertError(
            [(p + "algorithm", "AES256"), (p + "key", "not base64!"), (p + "key-md5", Self.keyMD5)], .invalidArgument)
        assertError(
            [
                (p + "algorithm", "AES256"), (p + "key", Self.keyB64),
                (p + "key-md5", base64Encode(Array(repeating: 1, count: 16))),
            ],
            .invalidArgument, "The calculated MD5 hash of the key did not match the hash that was provided.")
        // The same rules for a copy's source key, on copies only.
        var source = Self.ssec(SSERequest.copySourceCustomerPrefix)
        source[2].1 = base64Encode(Array(repeating: 1, count: 16))
        assertError(source, op: .copyObject, .invalidArgument)
        assertError(source, op: .uploadPartCopy, .invalidArgument)
        XCTAssertNil(try parse(source, .putObject).copySourceKey)
        assertError(Self.ssec(SSERequest.copySourceCustomerPrefix), op: .copyObject, secure: false, .invalidRequest)
    }

    func testReadsAndPartsPresentTheKey() throws {
        for op: SSERequest.Operation in [.getObject, .uploadPart, .uploadPartCopy] {
            let r = try parse(Self.ssec(), op)
            XCTAssertNotNil(r.customerKey, "\(op)")
            XCTAssertEqual(r.requested, .none, "\(op): only writes choose")
        }
        let copy = try parse(Self.ssec() + Self.ssec(SSERequest.copySourceCustomerPrefix), .copyObject)
        XCTAssertNotNil(copy.customerKey)
        XCTAssertNotNil(copy.copySourceKey)
    }

    func testEffectiveModeWithTheBucketDefault() throws {
        let kmsDefault = DefaultEncryption(algorithm: .kms, kmsKeyId: "k1", bucketKeyEnabled: true)
        XCTAssertEqual(try parse([]).effective(default: nil).mode, .none)
        XCTAssertEqual(try parse([]).effective(default: DefaultEncryption(algorithm: .aes256)).mode, .s3)
        let d = try parse([]).effective(default: kmsDefault)
        XCTAssertEqual(d.mode, .kms(keyId: "k1"))
        XCTAssertTrue(d.bucketKeyEnabled)
        // The request's own choice wins, SSE-C included.
        XCTAssertEqual(
            try parse([("x-amz-server-side-encryption", "AES256")]).effective(default: kmsDefault).mode, .s3)
        XCTAssertEqual(try parse(Self.ssec()).effective(default: kmsDefault).mode, .customer)
    }

    func testDefaultEncryptionEncodingRoundTrips() {
        for d in [
            DefaultEncryption(algorithm: .aes256), DefaultEncryption(algorithm: .aes256, bucketKeyEnabled: true),
            DefaultEncryption(algorithm: .kms), DefaultEncryption(algorithm: .kms, kmsKeyId: "0f3c-1"),
            DefaultEncryption(algorithm: .kms, kmsKeyId: "0f3c-1", bucketKeyEnabled: true),
        ] {
            XCTAssertEqual(DefaultEncryption.decode(d.encoded), d, d.encoded)
        }
        XCTAssertEqual(DefaultEncryption(algorithm: .kms, kmsKeyId: "a").encoded, "aws:kms key=a")
        for bad in ["", "AES128", "AES256 key=x", "aws:kms key=", "aws:kms other"] {
            XCTAssertNil(DefaultEncryption.decode(bad), bad)
        }
    }

    func testDefaultEncryptionXML() throws {
        func doc(_ rule: String) -> [UInt8] {
            Array(
                "<ServerSideEncryptionConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Rule>\(rule)</Rule></ServerSideEncryptionConfiguration>"
                    .utf8)
        }
        let aes = try DefaultEncryptionXML.parse(
            doc(
                "<ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault>"
            ))
        XCTAssertEqual(aes, .init(algorithm: .aes256, kmsKey: nil, bucketKeyEnabled: false))
        let kms = try DefaultEncryptionXML.parse(
            doc(
                "<ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms</SSEAlgorithm><KMSMasterKeyID>alias/a</KMSMasterKeyID></ApplyServerSideEncryptionByDefault><BucketKeyEnabled>true</BucketKeyEnabled>"
            ))
        XCTAssertEqual(kms, .init(algorithm: .kms, kmsKey: "alias/a", bucketKeyEnabled: true))
        let cases: [(String, S3ErrorCode)] = [
            ("", .malformedXML),
            ("<BucketKeyEnabled>true</BucketKeyEnabled>", .malformedXML),
            ("<ApplyServerSideEncryptionByDefault/>", .malformedXML),
            (
                "<ApplyServerSideEncryptionByDefault><SSEAlgorithm>DES</SSEAlgorithm></ApplyServerSideEncryptionByDefault>",
                .malformedXML
            ),
            (
                "<ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms:dsse</SSEAlgorithm></ApplyServerSideEncryptionByDefault>",
                .notImplemented
            ),
            (
                "<ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm><KMSMasterKeyID>k</KMSMasterKeyID></ApplyServerSideEncryptionByDefault>",
                .invalidArgument
            ),
            (
                "<ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm><Other/></ApplyServerSideEncryptionByDefault>",
                .malformedXML
            ),
            (
                "<ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault><BucketKeyEnabled>maybe</BucketKeyEnabled>",
                .malformedXML
            ),
        ]
        for (rule, code) in cases {
            XCTAssertThrowsError(try DefaultEncryptionXML.parse(doc(rule)), rule) {
                XCTAssertEqual(($0 as? S3Error)?.code, code, rule)
            }
        }
        // Two rules, and a document of another kind.
        let two = "<ServerSideEncryptionConfiguration><Rule/><Rule/></ServerSideEncryptionConfiguration>"
        XCTAssertThrowsError(try DefaultEncryptionXML.parse(Array(two.utf8)))
        XCTAssertThrowsError(try DefaultEncryptionXML.parse(Array("<Other/>".utf8)))
        let xml = DefaultEncryptionXML.render(
            DefaultEncryption(algorithm: .kms, kmsKeyId: "k", bucketKeyEnabled: true), keyARN: "arn:aws:kms:r:t:key/k")
        XCTAssertTrue(
            xml.contains("<SSEAlgorithm>aws:kms</SSEAlgorithm><KMSMasterKeyID>arn:aws:kms:r:t:key/k</KMSMasterKeyID>"))
        XCTAssertTrue(xml.contains("<BucketKeyEnabled>true</BucketKeyEnabled>"))
    }
}

extension SSERequestTests {
    func testSSECOverHTTPIsOffUnlessTheTestSettingSaysSo() throws {
        let zone = "[[zones]]\nname = \"z\"\npath = \"/data/z\"\n"
        XCTAssertFalse(try GatewayConfig.parse(zone, file: "t.toml").allowSSECOverHTTP)
        XCTAssertTrue(
            try GatewayConfig.parse("[s3]\nallow_sse_c_over_http = true\n" + zone, file: "t.toml").allowSSECOverHTTP)
        XCTAssertThrowsError(try GatewayConfig.parse("[s3]\nallow_sse_c_over_http = 1\n" + zone, file: "t.toml"))
        XCTAssertThrowsError(try GatewayConfig.parse("[s3]\nother = true\n" + zone, file: "t.toml"))
    }
}

extension SSERequestTests {
    func testResponseHeadersPerMode() {
        XCTAssertEqual(SSEAnswer(mode: .none).headers.count, 0)
        XCTAssertEqual(
            SSEAnswer(mode: .s3).headers.map { "\($0.name): \($0.value)" }, ["x-amz-server-side-encryption: AES256"])
        XCTAssertEqual(
            SSEAnswer(mode: .kms(keyId: "k"), kmsKeyARN: "arn:aws:kms:us-east-1:t:key/k", bucketKeyEnabled: true)
                .headers.map { "\($0.name): \($0.value)" },
            [
                "x-amz-server-side-encryption: aws:kms",
                "x-amz-server-side-encryption-aws-kms-key-id: arn:aws:kms:us-east-1:t:key/k",
                "x-amz-server-side-encryption-bucket-key-enabled: true",
            ])
        XCTAssertEqual(
            SSEAnswer(mode: .customer, customerKeyMD5: Self.keyMD5).headers.map { "\($0.name): \($0.value)" },
            [
                "x-amz-server-side-encryption-customer-algorithm: AES256",
                "x-amz-server-side-encryption-customer-key-MD5: \(Self.keyMD5)",
            ])
    }
}
