import GatewayCore
import XCTest

@testable import S3Backend

/// What the person who pasted the credentials is told when the source says no, fails or cannot
/// be reached — and that no such message ever holds the secret, the token or a signature.
final class S3SourceErrorTests: XCTestCase {
    struct Case: Sendable {
        let name: String
        let answers: [FakeProvider.Answer]
        let call: @Sendable (S3SourceClient) throws -> Void
        let expected: SourceError
    }

    static let list: @Sendable (S3SourceClient) throws -> Void = {
        _ = try $0.listObjects(bucket: "photos", region: "us-east-1", continuation: nil)
    }
    static let get: @Sendable (S3SourceClient) throws -> Void = {
        _ = try $0.open(bucket: "photos", region: "us-east-1", key: "dir/k")
    }

    static let cases: [Case] = [
        Case(
            name: "AccessDenied names the operation", answers: [.reply(403, body: errorDocument("AccessDenied"))],
            call: list, expected: .accessDenied(operation: "ListObjectsV2 photos")),
        Case(
            name: "a 403 without a document", answers: [.reply(403)], call: get,
            expected: .accessDenied(operation: "GetObject photos")),
        Case(
            name: "ListBuckets refused", answers: [.reply(403, body: errorDocument("AccessDenied"))],
            call: { _ = try $0.listBuckets() }, expected: .accessDenied(operation: "ListBuckets")),
        Case(
            name: "InvalidAccessKeyId", answers: [.reply(403, body: errorDocument("InvalidAccessKeyId"))],
            call: { _ = try $0.listBuckets() }, expected: .invalidCredentials(code: "InvalidAccessKeyId")),
        Case(
            name: "SignatureDoesNotMatch", answers: [.reply(403, body: errorDocument("SignatureDoesNotMatch"))],
            call: list, expected: .invalidCredentials(code: "SignatureDoesNotMatch")),
        Case(
            name: "ExpiredToken", answers: [.reply(400, body: errorDocument("ExpiredToken"))], call: get,
            expected: .invalidCredentials(code: "ExpiredToken")),
        Case(
            name: "InvalidToken", answers: [.reply(400, body: errorDocument("InvalidToken"))], call: list,
            expected: .invalidCredentials(code: "InvalidToken")),
        Case(
            name: "TokenRefreshRequired", answers: [.reply(400, body: errorDocument("TokenRefreshRequired"))],
            call: list, expected: .invalidCredentials(code: "TokenRefreshRequired")),
        Case(
            name: "NoSuchBucket", answers: [.reply(404, body: errorDocument("NoSuchBucket"))], call: list,
            expected: .noSuchBucket("photos")),
        Case(
            name: "NoSuchBucket at GetBucketLocation", answers: [.reply(404, body: errorDocument("NoSuchBucket"))],
            call: { _ = try $0.region(of: "photos") }, expected: .noSuchBucket("photos")),
        Case(
            name: "NoSuchKey", answers: [.reply(404, body: errorDocument("NoSuchKey"))], call: get,
            expected: .noSuchKey("dir/k")),
        Case(
            name: "a 404 without a document at GetObject", answers: [.reply(404)], call: get,
            expected: .noSuchKey("dir/k")),
        Case(
            name: "another S3 error", answers: [.reply(400, body: errorDocument("InvalidRequest"))], call: get,
            expected: .failed(operation: "GetObject photos", status: 400, code: "InvalidRequest")),
        Case(
            name: "a 5xx twice", answers: Array(repeating: .reply(503, body: errorDocument("SlowDown")), count: 2),
            call: list, expected: .failed(operation: "ListObjectsV2 photos", status: 503, code: "SlowDown")),
        Case(
            name: "an error that is not S3's", answers: [.reply(400, body: "<html>bad gateway</html>")], call: list,
            expected: .failed(operation: "ListObjectsV2 photos", status: 400, code: "(no error code)")),
        Case(
            name: "no connection, twice", answers: [.unreachable, .unreachable], call: list,
            expected: .unreachable("Couldn't connect to server")),
        Case(
            name: "no answer within the bound (not repeated)", answers: [.hang], call: list,
            expected: .unreachable("no response headers within 30 s of the request")),
        Case(
            name: "the body stalls", answers: [.stall(200, body: "<ListBucketResult>")], call: list,
            expected: .unreachable("the response body stalled: no byte came for 30 s")),
    ]

    func testErrorsMapToSourceErrors() throws {
        for c in Self.cases {
            let provider = FakeProvider(c.answers)
            let source = try makeSource(provider, endpoint: "http://127.0.0.1:9000")
            XCTAssertEqual(sourceError { try c.call(source) }, c.expected, c.name)
            XCTAssertEqual(provider.unused, 0, c.name)
        }
    }

    /// One failure fast is tried again; the second answer counts.
    func testATransientFailureIsTriedAgain() throws {
        for first in [FakeProvider.Answer.unreachable, .reply(500, body: errorDocument("InternalError")), .reply(429)] {
            let provider = FakeProvider([
                first, .reply(200, body: "<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>"),
            ])
            let source = try makeSource(provider, endpoint: "http://127.0.0.1:9000")
            XCTAssertEqual(try source.listObjects(bucket: "photos", region: "us-east-1", continuation: nil).objects, [])
            XCTAssertEqual(provider.exchanges.count, 2)
        }
    }

    /// The endpoint echoes what it was sent into its error documents and headers, as a hostile
    /// or careless one might: no error, message or description holds the secret, the token or a
    /// signature, whatever goes wrong.
    func testNoErrorHoldsASecret() throws {
        let secret = exampleSecret
        let token = sourceToken
        let provider = FakeProvider()
        let source = try makeSource(provider, endpoint: "http://127.0.0.1:9000")
        var errors: [SourceError] = []
        let calls: [(S3SourceClient) throws -> Void] = [
            { _ = try $0.listBuckets() }, { _ = try $0.region(of: "photos") }, Self.list,
            { _ = try readAll(try $0.open(bucket: "photos", region: "us-east-1", key: "dir/k")) },
        ]
        let echoes: [(String) -> FakeProvider.Answer] = [
            { _ in .reply(403, body: errorDocument("\(secret)", "\(token)")) },
            { sig in .reply(400, body: errorDocument(sig, "AWS4-HMAC-SHA256 Credential=x, Signature=\(sig)")) },
            { sig in
                .reply(
                    400,
                    body:
                        "<Error><Code>SignatureDoesNotMatch</Code><StringToSign>\(sig)</StringToSign><SignatureProvided>\(sig)</SignatureProvided><AWSAccessKeyId>\(token)</AWSAccessKeyId></Error>"
                )
            },
            { _ in .reply(500, body: errorDocument("InternalError", secret)) },
            { sig in .reply(200, body: "<ListBucketResult><Contents><Key>\(secret)\(sig)") },
            { _ in .reply(200, headers: [("Content-Length", "9")], body: "short") },
            { _ in .unreachable },
            { _ in .hang },
        ]
        for call in calls {
            // The clock is pinned, so a call signs the same way every time: its signature is
            // learnt once, then echoed back.
            provider.answer(.reply(403))
            _ = sourceError { try call(source) }
            let signature = String(
                provider.exchanges.last?.header(request: "authorization")?.split(separator: "=").last ?? "")
            for echo in echoes {
                provider.answer(echo(signature), echo(signature))
                if let e = sourceError({ try call(source) }) { errors.append(e) }
                if let e = sourceError({ try call(source) }) { errors.append(e) }
                while provider.unused > 0 {
                    _ = try? provider.start(HTTPRequest(method: "GET", url: "http://x/", headers: []))
                }
            }
        }
        for answer in [secret, token] {
            provider.answer(.reply(403, body: errorDocument("AccessDenied", answer)))
            if let e = sourceError({ try Self.list(source) }) { errors.append(e) }
        }
        XCTAssertGreaterThan(errors.count, 40)
        let signatures = Set(
            provider.exchanges.compactMap { e -> String? in
                e.header(request: "authorization").map { String($0.split(separator: "=").last ?? "") }
            })
        for error in errors {
            for text in [error.message, "\(error)", String(reflecting: error), error.localizedDescription] {
                for forbidden in [secret, token, "Signature="] + signatures {
                    XCTAssertFalse(text.contains(forbidden), "\(text) holds \(forbidden)")
                }
            }
        }
    }

    /// A spec prints its endpoint normalized, never as pasted: the text may hold user info or a
    /// signed query.
    func testASpecNeverPrintsThePastedEndpoint() {
        let credentials = SourceCredentials(accessKey: "AKIDSPEC", secretKey: exampleSecret, sessionToken: sourceToken)
        for (pasted, shown) in [
            ("https://AKIDSPEC:\(exampleSecret)@s3.amazonaws.com", "SourceSpec((invalid endpoint), us-east-1)"),
            ("https://s3.amazonaws.com/?X-Amz-Signature=\(exampleSecret)", "SourceSpec((invalid endpoint), us-east-1)"),
            ("HTTPS://S3.amazonaws.com:443", "SourceSpec(https://s3.amazonaws.com, us-east-1)"),
        ] {
            let spec = SourceSpec(endpoint: pasted, region: "us-east-1", credentials: credentials)
            XCTAssertEqual("\(spec)", shown)
        }
    }

    func testCredentialsNeverPrintFromTheClient() throws {
        let source = try makeSource(FakeProvider(), endpoint: "http://127.0.0.1:9000")
        var dumped = ""
        dump(source, to: &dumped)
        for text in ["\(source)", String(reflecting: source), dumped] {
            XCTAssertFalse(text.contains(exampleSecret), text)
            XCTAssertFalse(text.contains(sourceToken), text)
        }
    }
}
