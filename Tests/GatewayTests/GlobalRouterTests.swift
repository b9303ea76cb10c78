import Foundation
import GatewayCore
import GatewayTesting
import Logging
import MetadataSQLite
import S3Protocol
import SigV4
import XCTest

@testable import Gateway

/// The global router's answers, on a routing table in a temporary SQLite file: where each kind of
/// request is sent, the S3 redirect document, the errors for what it cannot route, the lookup
/// and the operator-only admin API.
final class GlobalRouterTests: XCTestCase {
    static let operatorKey = "ROUTEROPERATOR"
    static let operatorSecret = "router-operator-secret"
    var dir: URL!
    var store: SQLiteRoutingStore!
    var router: GlobalRouter!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("router-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        store = try SQLiteRoutingStore(path: dir.appendingPathComponent("router.sqlite").path)
        try store.putRegion(RouteRegion(name: "fi", endpoint: "https://fi.s3.example"))
        try store.putRegion(RouteRegion(name: "de", endpoint: "http://de.s3.example:8080"))
        try store.putTenant(RouteTenant(id: "acme", region: "fi"))
        try store.putTenant(RouteTenant(id: "globex", region: "de"))
        try store.putEntry(.accessKey, name: "AKIDACME", tenant: "acme")
        try store.putEntry(.bucket, name: "photos", tenant: "globex")
        router = GlobalRouter(
            store: store, settings: RouterSettings(), operatorAccessKey: Self.operatorKey,
            operatorSecretKey: Self.operatorSecret, baseDomains: ["s3.router.example"],
            clock: FixedClock(TestGateway.now), logger: Logger(label: "test"))
    }

    override func tearDownWithError() throws {
        store = nil
        router = nil
        try? FileManager.default.removeItem(at: dir)
    }

    /// One request; `authorization` as a client would send it (the router never checks it).
    func send(
        _ method: String, _ uri: String, host: String = "router.example", authorization: String? = nil,
        body: [UInt8] = []
    ) -> TestGateway.Response {
        var params = ["REQUEST_METHOD": method, "REQUEST_URI": uri, "HTTP_HOST": host]
        if let authorization { params["HTTP_AUTHORIZATION"] = authorization }
        let recorder = TestGateway.Recorder()
        router.handle(params: params, body: MemorySource(body), response: recorder)
        return TestGateway.Response(status: recorder.status, headers: recorder.headers, body: recorder.body)
    }

    func header(_ r: TestGateway.Response, _ name: String) -> String? {
        r.headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    func testASignedRequestGoesToItsKeysRegionWithPathAndQueryUnchanged() throws {
        let auth =
            "AWS4-HMAC-SHA256 Credential=AKIDACME/20231114/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00"
        let r = send("PUT", "/photos/a%20b.jpg?partNumber=1&uploadId=x%2By", authorization: auth)
        XCTAssertEqual(r.status, 307)
        XCTAssertEqual(header(r, "Location"), "https://fi.s3.example/photos/a%20b.jpg?partNumber=1&uploadId=x%2By")
        let doc = try XCTUnwrap(XMLNode.parse(r.body))
        XCTAssertEqual(doc.name, "Error")
        XCTAssertEqual(doc.child("Code")?.text, "TemporaryRedirect")
        XCTAssertEqual(doc.child("Endpoint")?.text, "fi.s3.example")
        XCTAssertEqual(doc.child("Bucket")?.text, "photos")
        XCTAssertTrue(doc.child("Message")?.text.hasPrefix("Please re-send this request") ?? false)
    }

    /// The key wins over the bucket: `photos` is globex's, but acme's key goes to acme's region.
    func testAPresignedURLRoutesByItsCredentialThenAnonymousByBucket() {
        let presigned =
            "/photos/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDACME%2F20231114%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=00"
        XCTAssertEqual(header(send("GET", presigned), "Location"), "https://fi.s3.example" + presigned)
        XCTAssertEqual(header(send("GET", "/photos/k"), "Location"), "http://de.s3.example:8080/photos/k")
        // SigV2 presigned and header forms name the key too.
        XCTAssertEqual(send("GET", "/x/k?AWSAccessKeyId=AKIDACME&Signature=zz&Expires=1").status, 307)
        XCTAssertEqual(send("GET", "/x/k", authorization: "AWS AKIDACME:sig").status, 307)
    }

    func testVirtualHostedAndTenantQualifiedBuckets() {
        let r = send("GET", "/k?versionId=1", host: "photos.s3.router.example")
        XCTAssertEqual(header(r, "Location"), "http://photos.de.s3.example:8080/k?versionId=1")
        XCTAssertEqual(header(send("GET", "/acme:anything/k"), "Location"), "https://fi.s3.example/acme:anything/k")
        // A label that is no bucket name never reaches a Location.
        let odd = send(
            "GET", "/k", host: "a@b.s3.router.example",
            authorization:
                "AWS4-HMAC-SHA256 Credential=AKIDACME/20231114/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00"
        )
        XCTAssertEqual(odd.status, 400)
        XCTAssertNil(header(odd, "Location"))
    }

    func testWhatCannotBeRoutedGetsAClearS3Error() throws {
        let unknownKey = send(
            "GET", "/photos/k",
            authorization:
                "AWS4-HMAC-SHA256 Credential=AKIDSTRANGER/20231114/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00"
        )
        XCTAssertEqual(unknownKey.status, 403)
        XCTAssertEqual(XMLNode.parse(unknownKey.body)?.child("Code")?.text, "InvalidAccessKeyId")
        XCTAssertNil(header(unknownKey, "Location"))
        let unknownBucket = send("GET", "/nobody-here/k")
        XCTAssertEqual(unknownBucket.status, 404)
        XCTAssertEqual(XMLNode.parse(unknownBucket.body)?.child("Code")?.text, "NoSuchBucket")
        XCTAssertEqual(send("GET", "/nobody:x/k").status, 404)
        XCTAssertEqual(send("GET", "/").status, 403)
    }

    func testTheLookupAnswersOneEndpointAndNothingElse() throws {
        let r = send("GET", "/.well-known/s3gw-route?access-key-id=AKIDACME")
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(String(decoding: r.body, as: UTF8.self), #"{"endpoint":"https:\/\/fi.s3.example"}"#)
        XCTAssertEqual(send("GET", "/.well-known/s3gw-route?bucket=photos").status, 200)
        XCTAssertEqual(send("GET", "/.well-known/s3gw-route?access-key-id=NOPE").status, 404)
        XCTAssertEqual(send("GET", "/.well-known/s3gw-route").status, 400)
        XCTAssertEqual(send("GET", "/.well-known/s3gw-route?bucket=photos&access-key-id=AKIDACME").status, 400)
        XCTAssertEqual(send("DELETE", "/.well-known/s3gw-route?bucket=photos").status, 405)
        var off = RouterSettings()
        off.lookup = false
        router = GlobalRouter(
            store: store, settings: off, operatorAccessKey: Self.operatorKey, operatorSecretKey: Self.operatorSecret,
            clock: FixedClock(TestGateway.now), logger: Logger(label: "test"))
        XCTAssertEqual(send("GET", "/.well-known/s3gw-route?bucket=photos").status, 404)
        XCTAssertEqual(send("GET", "/healthz").status, 200)
    }

    /// A signed admin call as botocore's SigV4Auth makes it.
    func admin(
        _ method: String, _ path: String, body: String = "", key: String = operatorKey,
        secret: String = operatorSecret
    ) -> TestGateway.Response {
        let bytes = Array(body.utf8)
        let hash = sha256Hex(bytes)
        let headers: [(name: String, value: String)] = [
            ("host", "router.example"), ("x-amz-date", TestGateway.amzDate), ("x-amz-content-sha256", hash),
        ]
        let (auth, _) = Signer.sign(
            method: method, rawURI: "/admin/" + path, headers: headers, payloadHash: hash, accessKey: key,
            secretKey: secret, region: "us-east-1", service: "s3", amzDate: TestGateway.amzDate)
        var params = ["REQUEST_METHOD": method, "REQUEST_URI": "/admin/" + path, "HTTP_AUTHORIZATION": auth]
        for h in headers { params["HTTP_" + h.name.uppercased().replacingOccurrences(of: "-", with: "_")] = h.value }
        let recorder = TestGateway.Recorder()
        router.handle(params: params, body: MemorySource(bytes), response: recorder)
        return TestGateway.Response(status: recorder.status, headers: recorder.headers, body: recorder.body)
    }

    func testTheAdminAPIChangesTheTableForTheOperatorOnly() throws {
        XCTAssertEqual(admin("PUT", "routing/tenants/acme", body: #"{"region":"de"}"#).status, 200)
        XCTAssertEqual(
            header(send("GET", "/x/k?X-Amz-Credential=AKIDACME%2Fx&X-Amz-Signature=0"), "Location"),
            "http://de.s3.example:8080/x/k?X-Amz-Credential=AKIDACME%2Fx&X-Amz-Signature=0")
        XCTAssertEqual(admin("GET", "routing/regions", key: "AKIDACME", secret: "whatever").status, 403)
        XCTAssertEqual(admin("GET", "routing/regions", secret: "wrong").status, 403)
        XCTAssertEqual(send("GET", "/admin/routing/regions").status, 403)
        XCTAssertEqual(admin("PUT", "routing/regions/x", body: #"{"endpoint":"https://h/path"}"#).status, 400)
        XCTAssertEqual(admin("PUT", "routing/regions/x", body: #"{"endpoint":"https://u@h"}"#).status, 400)
        XCTAssertEqual(admin("PUT", "routing/access-keys/K", body: #"{"tenant":"nobody"}"#).status, 404)
        XCTAssertEqual(admin("DELETE", "routing/regions/de").status, 409)
        XCTAssertEqual(admin("DELETE", "routing/tenants/globex").status, 204)
        // The tenant's bucket went with it.
        XCTAssertEqual(try store.entries(.bucket, tenant: nil), [])
        XCTAssertEqual(admin("DELETE", "routing/regions/de").status, 409)  // acme moved there
        let methods = admin("POST", "routing/regions")
        XCTAssertEqual(methods.status, 405)
        XCTAssertEqual(header(methods, "Allow"), "GET")
        XCTAssertEqual(admin("GET", "routing/nothing").status, 404)
    }
}
