import Foundation
import GatewayCore
import SigV4
import XCTest

@testable import s3gw

/// The CLI's two ways to the admin API: remote calls must carry a signature the gateway's own
/// verifier accepts (paths and queries with characters that need encoding included), and both
/// transports' answers become the same output and failures.
final class AdminTransportTests: XCTestCase {
    struct Keys: CredentialLookup {
        func secretKey(forAccessKey key: String) -> String? { key == "AKIDADMIN" ? "admin-secret" : nil }
    }

    static let now = 1_700_000_000

    func remote(_ endpoint: String = "https://gw.example.test:8443/") throws -> RemoteAdminTransport {
        try RemoteAdminTransport(
            endpoint: endpoint, credentials: .init(accessKey: "AKIDADMIN", secretKey: "admin-secret"),
            region: "us-east-1", caBundle: nil, verifyTLS: true)
    }

    /// What the gateway sees of a signed call: the head nginx passes on, and the body's hash.
    func verify(_ call: AdminCall, transport: RemoteAdminTransport, body: [UInt8]? = nil) throws -> AuthContext {
        let (url, headers) = transport.signed(call, now: Self.now)
        XCTAssertTrue(url.hasPrefix(transport.origin), url)
        let head = RequestHead(
            method: call.method, rawURI: String(url.dropFirst(transport.origin.count)), headers: headers)
        let hash = hexEncode(Digest.hash(.sha256, body ?? call.body))
        return try Verifier(credentials: Keys()).authenticate(head, now: Double(Self.now), bodyHash: hash)
    }

    func testARemoteCallIsSignedAsTheGatewayVerifiesIt() throws {
        let t = try remote()
        XCTAssertEqual(t.host, "gw.example.test:8443")
        var call = AdminCall("POST", ["tenants", "acme", "users"], json: ["name": "alice"])
        XCTAssertEqual(String(decoding: call.body, as: UTF8.self), #"{"name":"alice"}"#)
        XCTAssertEqual(try verify(call, transport: t).accessKey, "AKIDADMIN")
        call = AdminCall("GET", ["tenants", "a b+c/ü"], query: ["marker": "x y/z", "limit": "5"])
        let (url, _) = t.signed(call, now: Self.now)
        XCTAssertEqual(url, "https://gw.example.test:8443/admin/tenants/a%20b%2Bc%2F%C3%BC?limit=5&marker=x%20y%2Fz")
        XCTAssertEqual(try verify(call, transport: t).accessKey, "AKIDADMIN")
    }

    /// The gateway compares the signed x-amz-content-sha256 with the body it read.
    func testTheSignatureCoversTheBodysHash() throws {
        let call = AdminCall("PATCH", ["tenants", "acme", "users", "alice"], json: ["permissions": ["s3:*": ["*"]]])
        let t = try remote()
        let auth = try verify(call, transport: t)
        guard case .sha256(let declared) = auth.payload else { return XCTFail("\(auth.payload)") }
        XCTAssertEqual(declared, hexEncode(Digest.hash(.sha256, call.body)))
        var (url, headers) = t.signed(call, now: Self.now)
        headers = headers.map { $0.name == "x-amz-content-sha256" ? ($0.name, String(repeating: "0", count: 64)) : $0 }
        let head = RequestHead(method: "PATCH", rawURI: String(url.dropFirst(t.origin.count)), headers: headers)
        XCTAssertThrowsError(try Verifier(credentials: Keys()).authenticate(head, now: Double(Self.now)))
    }

    func testAnEndpointWithAPathPrefixKeepsIt() throws {
        let t = try remote("http://[::1]:9000/gw/")
        XCTAssertEqual(t.host, "[::1]:9000")
        let (url, _) = t.signed(AdminCall("GET", ["tenants"]), now: Self.now)
        XCTAssertEqual(url, "http://[::1]:9000/gw/admin/tenants")
    }

    func testOnlyHTTPEndpointsAreAccepted() {
        for bad in ["ftp://gw.example.test", "gw.example.test:8443", "https://", "https://gw?x=1"] {
            XCTAssertThrowsError(try remote(bad), bad) {
                XCTAssertEqual(($0 as? AdminFailure)?.code, "InvalidEndpoint")
            }
        }
    }

    // MARK: answers

    /// Canned replies, in order, and the calls that asked for them.
    final class Canned: AdminTransport {
        var replies: [AdminReply]
        var calls: [AdminCall] = []
        init(_ replies: [(Int, String)]) {
            self.replies = replies.map { AdminReply(status: $0.0, body: Array($0.1.utf8)) }
        }
        func send(_ call: AdminCall) throws(AdminFailure) -> AdminReply {
            calls.append(call)
            return replies.removeFirst()
        }
    }

    func testAListFollowsNextMarkerToTheEnd() throws {
        let t = Canned([
            (200, #"{"items":[{"id":"a"},{"id":"b"}],"next_marker":"b"}"#),
            (200, #"{"items":[{"id":"c"}]}"#),
        ])
        let items = try AdminClient(transport: t, json: false).list(
            AdminCall("GET", ["tenants"], query: ["limit": "2"]))
        XCTAssertEqual(items.compactMap { $0["id"]?.string }, ["a", "b", "c"])
        XCTAssertEqual(t.calls.map(\.query), [["limit": "2"], ["limit": "2", "marker": "b"]])
    }

    func testAListThatRepeatsItsMarkerIsAnError() {
        let page = (200, #"{"items":[{"id":"a"}],"next_marker":"a"}"#)
        XCTAssertThrowsError(
            try AdminClient(transport: Canned([page, page]), json: false).list(AdminCall("GET", ["tenants"]))
        ) {
            XCTAssertEqual(($0 as? AdminFailure)?.code, "InvalidAnswer")
        }
    }

    func testErrorsCarryTheAPIsCodeAndMessage() {
        let client = AdminClient(
            transport: Canned([
                (409, #"{"code":"Conflict","message":"tenant acme already exists"}"#),
                (502, "<html>Bad Gateway</html>"),
                (200, "not json"),
            ]), json: false)
        for (code, message) in [
            ("Conflict", "tenant acme already exists"), ("HTTP502", "HTTP 502"), ("InvalidAnswer", "not JSON"),
        ] {
            XCTAssertThrowsError(try client.send(AdminCall("GET", ["tenants"]))) {
                let f = $0 as? AdminFailure
                XCTAssertEqual(f?.code, code)
                XCTAssertTrue(f?.message.contains(message) ?? false, f?.message ?? "")
            }
        }
    }

    func testJSONIsPrintedAsItCame() {
        let v = JSONValue.parse(Array(#"{"b":[1,2.5,true,null],"a":{"x":"y/z"}}"#.utf8))!
        XCTAssertEqual(JSONValue.parse(Array(v.pretty.utf8)), v)
        XCTAssertTrue(v.pretty.contains("\"y/z\""), v.pretty)
        XCTAssertEqual(v["b"]?.cell, "1, 2.5, yes, -")
    }
}
