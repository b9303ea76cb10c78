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
        try store.putEntry(.accessKey, name: "AKIDACME", tenant: "acme", replace: false)
        // An explicit bare route of globex's bucket, and acme's bucket as `routing sync` routes it.
        try store.putEntry(.bucket, name: "photos", tenant: "globex", replace: false)
        try store.putEntry(.bucket, name: "acme:logs", tenant: "acme", replace: false)
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
        // Anonymous: the path names globex's bucket as the region addresses it.
        XCTAssertEqual(header(send("GET", "/photos/k"), "Location"), "http://de.s3.example:8080/globex:photos/k")
        // SigV2 presigned and header forms name the key too.
        XCTAssertEqual(send("GET", "/x/k?AWSAccessKeyId=AKIDACME&Signature=zz&Expires=1").status, 307)
        XCTAssertEqual(send("GET", "/x/k", authorization: "AWS AKIDACME:sig").status, 307)
    }

    func testVirtualHostedAndTenantQualifiedBuckets() throws {
        // Anonymous virtual-hosted: path-style, the tenant in the path.
        let r = send("GET", "/k?versionId=1", host: "photos.s3.router.example")
        XCTAssertEqual(header(r, "Location"), "http://de.s3.example:8080/globex:photos/k?versionId=1")
        XCTAssertEqual(header(send("GET", "/acme:logs/k?x=1"), "Location"), "https://fi.s3.example/acme:logs/k?x=1")
        XCTAssertEqual(header(send("GET", "/acme:logs"), "Location"), "https://fi.s3.example/acme:logs")
        XCTAssertEqual(header(send("GET", "/globex:photos/"), "Location"), "http://de.s3.example:8080/globex:photos/")
        // A signed virtual-hosted request keeps its label (the path is signed as sent)…
        let signed =
            "AWS4-HMAC-SHA256 Credential=AKIDACME/20231114/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00"
        XCTAssertEqual(
            header(send("GET", "/k", host: "photos.s3.router.example", authorization: signed), "Location"),
            "https://photos.fi.s3.example/k")
        // …except on an IP endpoint, which takes no label.
        try store.putRegion(RouteRegion(name: "fi", endpoint: "http://127.0.0.1:9000"))
        XCTAssertEqual(
            header(send("GET", "/k", host: "photos.s3.router.example", authorization: signed), "Location"),
            "http://127.0.0.1:9000/photos/k")
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
        // A tenant is routed only by its entries: an existing tenant id tells nothing more than
        // an unknown one.
        let guessed = send("GET", "/acme:not-routed/k")
        XCTAssertEqual(guessed.status, 404)
        XCTAssertNil(header(guessed, "Location"))
        XCTAssertEqual(send("GET", "/").status, 403)
        // A CORS preflight is refused with an S3 error, not redirected.
        let preflight = send("OPTIONS", "/photos/k")
        XCTAssertEqual(preflight.status, 403)
        XCTAssertNil(header(preflight, "Location"))
        XCTAssertTrue(
            XMLNode.parse(preflight.body)?.child("Message")?.text.contains("regional endpoint") ?? false)
    }

    func testTheLookupAnswersOneEndpointAndNothingElse() throws {
        let r = send("GET", "/.well-known/s3gw-route?access-key-id=AKIDACME")
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(String(decoding: r.body, as: UTF8.self), #"{"endpoint":"https:\/\/fi.s3.example"}"#)
        XCTAssertEqual(send("GET", "/.well-known/s3gw-route?bucket=photos").status, 200)
        // A bucket as the 307 routes it: `globex:photos` by globex's bare entry, not by another tenant.
        XCTAssertEqual(send("GET", "/.well-known/s3gw-route?bucket=globex:photos").status, 200)
        XCTAssertEqual(send("GET", "/.well-known/s3gw-route?bucket=acme:photos").status, 404)
        XCTAssertEqual(send("GET", "/.well-known/s3gw-route?bucket=acme:logs").status, 200)
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

    /// A signed admin call as botocore's SigV4Auth makes it; `signedHash` declares another
    /// payload hash than the body's, `sentBody` sends another body than the one signed.
    func admin(
        _ method: String, _ path: String, body: String = "", key: String = operatorKey,
        secret: String = operatorSecret, signedHash: String? = nil, sentBody: String? = nil
    ) -> TestGateway.Response {
        let bytes = Array(body.utf8)
        let hash = signedHash ?? sha256Hex(bytes)
        let headers: [(name: String, value: String)] = [
            ("host", "router.example"), ("x-amz-date", TestGateway.amzDate), ("x-amz-content-sha256", hash),
        ]
        let (auth, _) = Signer.sign(
            method: method, rawURI: "/admin/" + path, headers: headers, payloadHash: hash, accessKey: key,
            secretKey: secret, region: "us-east-1", service: "s3", amzDate: TestGateway.amzDate)
        var params = ["REQUEST_METHOD": method, "REQUEST_URI": "/admin/" + path, "HTTP_AUTHORIZATION": auth]
        for h in headers { params["HTTP_" + h.name.uppercased().replacingOccurrences(of: "-", with: "_")] = h.value }
        let recorder = TestGateway.Recorder()
        router.handle(params: params, body: MemorySource(sentBody.map { Array($0.utf8) } ?? bytes), response: recorder)
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
        XCTAssertEqual(try store.entries(.bucket, tenant: nil), [RouteEntry(name: "acme:logs", tenant: "acme")])
        XCTAssertEqual(admin("DELETE", "routing/regions/de").status, 409)  // acme moved there
        let methods = admin("POST", "routing/regions")
        XCTAssertEqual(methods.status, 405)
        XCTAssertEqual(header(methods, "Allow"), "GET")
        XCTAssertEqual(admin("GET", "routing/nothing").status, 404)
    }

    /// What the gateway's admin API refuses, the router's refuses too: the table is unchanged.
    func testTheAdminAPIRefusesABodyTheSignatureDoesNotCover() throws {
        let evil = #"{"endpoint":"https://evil.example"}"#
        let honest = #"{"endpoint":"https://fi2.s3.example"}"#
        // A captured call replayed with another body.
        let replayed = admin("PUT", "routing/regions/fi", body: honest, sentBody: evil)
        XCTAssertEqual(replayed.status, 400)
        XCTAssertTrue(String(decoding: replayed.body, as: UTF8.self).contains(#""code":"XAmzContentSHA256Mismatch""#))
        // A declared hash that is not the body's.
        XCTAssertEqual(
            admin("PUT", "routing/regions/fi", body: evil, signedHash: sha256Hex(Array("x".utf8))).status, 400)
        // UNSIGNED-PAYLOAD with a body.
        let unsigned = admin("PUT", "routing/regions/fi", body: evil, signedHash: "UNSIGNED-PAYLOAD")
        XCTAssertEqual(unsigned.status, 400)
        XCTAssertTrue(String(decoding: unsigned.body, as: UTF8.self).contains(#""code":"InvalidRequest""#))
        // SigV2.
        var params = [
            "REQUEST_METHOD": "PUT", "REQUEST_URI": "/admin/routing/regions/fi", "HTTP_HOST": "router.example",
            "HTTP_DATE": "Tue, 14 Nov 2023 22:13:20 GMT",
            "HTTP_AUTHORIZATION": "AWS \(Self.operatorKey):"
                + Self.v2Signature("PUT\n\n\nTue, 14 Nov 2023 22:13:20 GMT\n/admin/routing/regions/fi"),
        ]
        params["CONTENT_LENGTH"] = String(evil.utf8.count)
        let recorder = TestGateway.Recorder()
        router.handle(params: params, body: MemorySource(Array(evil.utf8)), response: recorder)
        XCTAssertEqual(recorder.status, 403, String(decoding: recorder.body, as: UTF8.self))
        XCTAssertTrue(String(decoding: recorder.body, as: UTF8.self).contains("Signature Version 4"))
        // A (malformed) presigned admin URL is refused too, never dispatched.
        let presigned = send(
            "GET", "/admin/routing/regions?X-Amz-Credential=\(Self.operatorKey)%2Fx&X-Amz-Signature=00")
        XCTAssertTrue([400, 403].contains(presigned.status))
        XCTAssertFalse(String(decoding: presigned.body, as: UTF8.self).contains("items"))
        XCTAssertEqual(try store.region("fi")?.endpoint, "https://fi.s3.example")
        // The honest call still works; signature query keys never reach a route's query.
        XCTAssertEqual(admin("PUT", "routing/regions/fi", body: honest).status, 200)
        XCTAssertEqual(try store.region("fi")?.endpoint, "https://fi2.s3.example")
    }

    static func v2Signature(_ stringToSign: String) -> String {
        Data(HMAC.sha1(key: Array(operatorSecret.utf8), data: Array(stringToSign.utf8))).base64EncodedString()
    }

    /// A name routed to one tenant is not taken over by another unless asked.
    func testAnEntryOfAnotherTenantIsReplacedOnlyWhenAsked() throws {
        let taken = admin("PUT", "routing/buckets/photos", body: #"{"tenant":"acme"}"#)
        XCTAssertEqual(taken.status, 409)
        XCTAssertEqual(try store.resolve(.bucket, name: "photos")?.tenant, "globex")
        XCTAssertEqual(admin("PUT", "routing/buckets/photos", body: #"{"tenant":"globex"}"#).status, 200)
        XCTAssertEqual(admin("PUT", "routing/buckets/photos?replace=true", body: #"{"tenant":"acme"}"#).status, 200)
        XCTAssertEqual(try store.resolve(.bucket, name: "photos")?.tenant, "acme")
        // `tenant:bucket` is that tenant's only; a bucket name must be one.
        XCTAssertEqual(admin("PUT", "routing/buckets/acme:x12", body: #"{"tenant":"globex"}"#).status, 409)
        XCTAssertEqual(admin("PUT", "routing/buckets/Bad_Name", body: #"{"tenant":"acme"}"#).status, 400)
        XCTAssertEqual(admin("PUT", "routing/regions/Bad", body: #"{"endpoint":"https://h"}"#).status, 400)
    }

    func testAnEndpointIsHostAndPortOnly() {
        for good in [
            "https://fi.s3.example", "http://127.0.0.1:8080", "https://[::1]:443", "http://localhost:65535",
            "https://[2001:db8::1]",
        ] {
            XCTAssertTrue(RouteRegion.isValidEndpoint(good), good)
        }
        for bad in [
            "https://:", "https://[", "https://a:1:2", "http://h:65536", "http://h:0", "http://h:080", "http://h:",
            "https://h/p",
            "https://u@h", "https://-h", "https://h..x", "ftp://h", "https://[zz]", "https://[::1]x",
        ] {
            XCTAssertFalse(RouteRegion.isValidEndpoint(bad), bad)
        }
        XCTAssertTrue(RouteRegion(name: "x", endpoint: "http://127.0.0.1:1").hostIsIPAddress)
        XCTAssertTrue(RouteRegion(name: "x", endpoint: "http://[::1]:1").hostIsIPAddress)
        XCTAssertFalse(RouteRegion(name: "x", endpoint: "http://fi.example:1").hostIsIPAddress)
    }
}
