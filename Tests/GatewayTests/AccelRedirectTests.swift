import FileSystemBackend
import Foundation
import GatewayCore
import XCTest

@testable import Gateway

/// Which GETs the worker hands to nginx (X-Accel-Redirect) and what it tells nginx; the e2e
/// suite (test_accel_redirect.py) proves nginx then answers as the worker would have.
final class AccelRedirectTests: XCTestCase {
    var gw: TestGateway!
    var root = ""
    let body = Array("0123456789abcdefghij".utf8)

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "accel-\(UUID().uuidString)"
        let dir = root
        gw = TestGateway(
            configure: { $0.accelRedirect = true }, wrapZone: { try! FileSystemZone(name: $0.name, root: dir) })
        XCTAssertEqual(gw.send("PUT", "/bkt").status, 200)
        XCTAssertEqual(gw.send("PUT", "/bkt/k", body: body, headers: [("x-amz-meta-note", "a&b=c%d")]).status, 200)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: root) }

    /// The redirect the answer carries, nil when the worker streamed.
    func redirect(_ r: TestGateway.Response) -> String? { r.header("X-Accel-Redirect") }

    func testAPlainGetRedirectsToTheBlobsFileUnderTheZonesLocation() throws {
        let r = gw.send("GET", "/bkt/k")
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.body, [], "nginx sends the bytes")
        let uri = try XCTUnwrap(redirect(r))
        XCTAssertTrue(uri.hasPrefix("/_s3gw/zones/zone-a/s3gw-"), uri)
        // The file nginx's alias (<root>/buckets/) finds there holds exactly the object.
        let path = root + "/buckets/" + uri.dropFirst("/_s3gw/zones/zone-a/".count)
        XCTAssertEqual(FileManager.default.contents(atPath: path).map(Array.init), body)
        // Only nginx's own framing is left out of the packed headers; the planned length is kept.
        let packed = try XCTUnwrap(r.header("X-S3gw-Headers"))
        XCTAssertTrue(packed.contains("x-amz-meta-note=a%26b%3Dc%25d"), packed)
        XCTAssertTrue(packed.contains("ETag=\""), packed)
        XCTAssertTrue(packed.contains("x-amz-request-id="), packed)
        XCTAssertFalse(packed.contains("Content-Length"), packed)
        XCTAssertFalse(packed.contains("Accept-Ranges"), packed)
        XCTAssertEqual(r.header("Content-Length"), "20")
        XCTAssertEqual(r.headers.map(\.name), ["X-Accel-Redirect", "X-S3gw-Headers", "Content-Length"])
    }

    func testWhichRequestsAreRedirected() {
        let table: [(String, String, [(String, String)], Bool)] = [
            ("GET", "/bkt/k", [], true),
            ("GET", "/bkt/k", [("Range", "bytes=2-5")], true),
            ("GET", "/bkt/k", [("Range", "bytes=2-")], true),
            ("GET", "/bkt/k", [("Range", "bytes=-5")], true),
            ("GET", "/bkt/k", [("Range", "bytes=-500")], true),
            ("GET", "/bkt/k", [("Range", "bytes=2-500")], true),
            ("GET", "/bkt/k?response-content-disposition=attachment", [], true),
            ("HEAD", "/bkt/k", [], false),
            ("GET", "/bkt/k", [("Range", "bytes= 2-5")], false),
            ("GET", "/bkt/k", [("Range", "Bytes=2-5")], false),
            ("GET", "/bkt/k", [("Range", "bytes=2-5,7-8")], false),
            ("GET", "/bkt/k", [("Range", "bytes=5-2")], false),
            ("GET", "/bkt/k", [("Range", "items=2-5")], false),
            ("GET", "/bkt/k?partNumber=1", [], false),
            ("GET", "/bkt/k", [("If-Match", "*")], false),
            ("GET", "/bkt/k", [("If-None-Match", "\"nope\"")], false),
            ("GET", "/bkt/k", [("If-Modified-Since", "Sat, 01 Jan 2000 00:00:00 GMT")], false),
            ("GET", "/bkt/k", [("If-Unmodified-Since", "Sat, 01 Jan 2050 00:00:00 GMT")], false),
            ("GET", "/bkt/k", [("If-Range", "\"x\""), ("Range", "bytes=1-2")], false),
        ]
        for (method, uri, headers, accelerated) in table {
            let r = gw.send(method, uri, headers: headers)
            XCTAssertTrue([200, 206].contains(r.status), "\(method) \(uri) \(headers): \(r.status)")
            XCTAssertEqual(redirect(r) != nil, accelerated, "\(method) \(uri) \(headers)")
            if !accelerated && method == "GET" { XCTAssertFalse(r.body.isEmpty, "\(uri) \(headers) streams") }
        }
    }

    func testARangedRedirectStatesTheSameRangeNginxWillSend() {
        let r = gw.send("GET", "/bkt/k", headers: [("Range", "bytes=-500")])
        XCTAssertEqual(r.status, 206)
        XCTAssertNotNil(redirect(r))
        XCTAssertTrue(r.header("X-S3gw-Headers")?.contains("Content-Range") == false)
        // nginx sends Accept-Ranges on a 200 only: on a 206 it is the worker's.
        XCTAssertTrue(r.header("X-S3gw-Headers")?.contains("Accept-Ranges=bytes") == true)
        XCTAssertEqual(r.header("Content-Length"), "20")
    }

    func testNginxsFallbackAndTheSwitchStream() {
        let fallback = gw.send("GET", "/bkt/k", params: ["S3GW_NO_ACCEL": "1"])
        XCTAssertNil(redirect(fallback))
        XCTAssertEqual(fallback.body, body)

        let dir = root
        let off = TestGateway(wrapZone: { try! FileSystemZone(name: $0.name, root: dir + "-off") })
        defer { try? FileManager.default.removeItem(atPath: dir + "-off") }
        XCTAssertEqual(off.send("PUT", "/bkt").status, 200)
        XCTAssertEqual(off.send("PUT", "/bkt/k", body: body).status, 200)
        XCTAssertNil(redirect(off.send("GET", "/bkt/k")))
    }

    func testAVanishedObjectIsNoSuchKeyNotARedirect() {
        XCTAssertEqual(gw.send("DELETE", "/bkt/k").status, 204)
        let r = gw.send("GET", "/bkt/k")
        XCTAssertEqual(r.errorCode, "NoSuchKey")
        XCTAssertNil(redirect(r))
    }

    func testEncryptedAndMultipartObjectsStream() {
        let sse = gw.send("PUT", "/bkt/sse", body: body, headers: [("x-amz-server-side-encryption", "AES256")])
        XCTAssertEqual(sse.status, 200, sse.text)
        let get = gw.send("GET", "/bkt/sse")
        XCTAssertNil(redirect(get))
        XCTAssertEqual(get.body, body)

        let start = gw.send("POST", "/bkt/mp?uploads")
        let id = start.text.components(separatedBy: "<UploadId>")[1].components(separatedBy: "</UploadId>")[0]
        let a = [UInt8](repeating: 1, count: 5 << 20)
        let e1 = gw.send("PUT", "/bkt/mp?partNumber=1&uploadId=\(id)", body: a).header("ETag") ?? ""
        let e2 = gw.send("PUT", "/bkt/mp?partNumber=2&uploadId=\(id)", body: [2, 2]).header("ETag") ?? ""
        let parts =
            "<Part><PartNumber>1</PartNumber><ETag>\(e1)</ETag></Part><Part><PartNumber>2</PartNumber><ETag>\(e2)</ETag></Part>"
        let done = gw.send(
            "POST", "/bkt/mp?uploadId=\(id)",
            body: Array("<CompleteMultipartUpload>\(parts)</CompleteMultipartUpload>".utf8))
        XCTAssertEqual(done.status, 200, done.text)
        let mp = gw.send("GET", "/bkt/mp")
        XCTAssertNil(redirect(mp))
        XCTAssertEqual(mp.body.count, a.count + 2)
    }

    func testPackingEncodesEveryByteButUnreservedOnesAndDropsLineBreaks() {
        let packed = AccelRedirect.pack([Header("x-amz-meta-a", "caf\u{E9} \r\nx"), Header("ETag", "\"e\"")])
        XCTAssertEqual(packed, "x-amz-meta-a=caf%E9%20x&ETag=\"e\"")
    }

    func testLocationsAreGeneratedForFilesystemZonesOnly() throws {
        var config = GatewayConfig()
        config.zones = [
            GatewayConfig.Zone(name: "fs-1", country: "", region: "", kind: "filesystem", path: "/srv/zone one/"),
            GatewayConfig.Zone(name: "remote", country: "", region: "", kind: "s3", path: ""),
        ]
        let text = try NginxLocations.render(config, source: "s3gw.toml")
        XCTAssertTrue(
            text.contains("location /_s3gw/zones/fs-1/ {\n    internal;\n    alias \"/srv/zone one/buckets/\";"), text)
        XCTAssertTrue(
            text.contains("location /_s3gw/plain/fs-1/ {\n    internal;\n    alias \"/srv/zone one/buckets/\";"), text)
        XCTAssertTrue(text.contains("    add_header ETag $upstream_http_etag;\n"), text)
        XCTAssertTrue(text.contains("    add_header Accept-Ranges $upstream_http_x_s3gw_accept_ranges;\n"), text)
        XCTAssertTrue(text.contains("    add_header Last-Modified $upstream_http_last_modified always;\n"), text)
        XCTAssertFalse(text.contains("remote"), text)
        config.zones[0].path = "/srv/$zone"
        XCTAssertThrowsError(try NginxLocations.render(config, source: "s3gw.toml"))
    }

    func testTheRedirectGoesToNginxOnlyAfterTheRequestIsRecordedWithItsPlannedLength() throws {
        let inner = TestGateway.Recorder()
        let sink = HeadTrackingSink(inner)
        try sink.sendHead(
            status: 206, headers: AccelRedirect.head("/_s3gw/zones/z/p", status: 206, [Header("Content-Length", "7")]))
        XCTAssertTrue(sink.headSent)
        XCTAssertEqual(inner.status, 0, "held: nginx would start sending the file at once")
        XCTAssertEqual(sink.bytesSent, 7, "the answer as the worker gave it")
        sink.finish()
        XCTAssertEqual(inner.status, 206)
        XCTAssertEqual(inner.headers.first?.value, "/_s3gw/plain/z/p", "no header needs s3gw.js")
    }

    /// A plain object's answer goes to the plain location with its headers as they are (Accept-
    /// Ranges of a 206 renamed, nginx's own left out); any header the plain location does not put
    /// back, or cannot pass through unchanged, sends it to the njs location with them packed.
    func testOnlyPlainAnswersSkipTheHeaderFilter() throws {
        let base = [
            Header("ETag", "\"e\""), Header("Last-Modified", "Tue, 02 Jan 2024 03:04:05 GMT"),
            Header("Accept-Ranges", "bytes"), Header("Content-Type", "binary/octet-stream"),
            Header("x-s3gw-zone", "fs-1"), Header("x-amz-version-id", "v1"), Header("x-amz-request-id", "R"),
            Header("x-amz-id-2", "R"), Header("Server", "s3gw"), Header("Content-Length", "7"),
        ]
        let plain = AccelRedirect.head("/_s3gw/zones/z/p", status: 206, base)
        XCTAssertEqual(plain.first?.value, "/_s3gw/plain/z/p")
        XCTAssertNil(plain.first { $0.name == "X-S3gw-Headers" })
        XCTAssertEqual(plain.first { $0.name == "X-S3gw-Accept-Ranges" }?.value, "bytes")
        XCTAssertNil(plain.first { $0.name == "Server" || $0.name == "Accept-Ranges" })
        XCTAssertEqual(plain.first { $0.name == "Content-Type" }?.value, "binary/octet-stream")
        XCTAssertEqual(plain.last?.name, "Content-Length")
        // On a 200 nginx sends its own Accept-Ranges: the worker's is left out.
        XCTAssertNil(AccelRedirect.head("/_s3gw/zones/z/p", status: 200, base).first { $0.name.contains("Accept") })
        for extra in [
            Header("x-amz-meta-a", "b"), Header("ETag", "\"again\""), Header("x-amz-tagging-count", "1"),
            Header("Access-Control-Allow-Origin", "https://app.example"),
        ] {
            XCTAssertEqual(
                AccelRedirect.head("/_s3gw/zones/z/p", status: 200, base + [extra]).first?.value,
                "/_s3gw/zones/z/p", extra.name)
        }
        for odd in ["text/plain; charset=utf-8", " padded", "caf\u{E9}", "", "tab\there"] {
            let headers = base.map { $0.name == "Content-Type" ? Header("Content-Type", odd) : $0 }
            XCTAssertEqual(
                AccelRedirect.head("/_s3gw/zones/z/p", status: 200, headers).first?.value,
                "/_s3gw/zones/z/p", odd)
        }
    }

    func testAnswersShorterThanTheMinimumStream() {
        let dir = root
        let gated = TestGateway(
            configure: {
                $0.accelRedirect = true
                $0.accelMinSize = 10
            }, wrapZone: { try! FileSystemZone(name: $0.name, root: dir + "-min") })
        defer { try? FileManager.default.removeItem(atPath: dir + "-min") }
        XCTAssertEqual(gated.send("PUT", "/bkt").status, 200)
        XCTAssertEqual(gated.send("PUT", "/bkt/k", body: body).status, 200)
        XCTAssertNotNil(redirect(gated.send("GET", "/bkt/k")))
        XCTAssertNotNil(redirect(gated.send("GET", "/bkt/k", headers: [("Range", "bytes=0-9")])))
        let short = gated.send("GET", "/bkt/k", headers: [("Range", "bytes=0-8")])
        XCTAssertNil(redirect(short))
        XCTAssertEqual(short.body, Array(body[0...8]))
    }

    func testTheSwitchIsOnUnlessTurnedOff() throws {
        let zones = "[[zones]]\nname = \"z\"\nkind = \"filesystem\"\npath = \"/srv/z\"\n"
        XCTAssertTrue(try GatewayConfig.parse("[server]\n" + zones, file: "t.toml").accelRedirect)
        XCTAssertFalse(
            try GatewayConfig.parse("[server]\naccel_redirect = false\n" + zones, file: "t.toml").accelRedirect)
        XCTAssertThrowsError(try GatewayConfig.parse("[server]\naccel_redirect = \"no\"\n" + zones, file: "t.toml"))
        XCTAssertEqual(try GatewayConfig.parse("[server]\n" + zones, file: "t.toml").accelMinSize, 512 * 1024)
        XCTAssertEqual(
            try GatewayConfig.parse("[server]\naccel_min_size = 0\n" + zones, file: "t.toml").accelMinSize, 0)
        XCTAssertThrowsError(try GatewayConfig.parse("[server]\naccel_min_size = -1\n" + zones, file: "t.toml"))
    }

    /// Behind an nginx config without the zones' internal locations (no S3GW_ACCEL), the gateway
    /// streams: a redirect would come straight back to it, in a loop.
    func testNoRedirectBehindAConfigWithoutTheInternalLocations() throws {
        XCTAssertNotNil(redirect(gw.send("GET", "/bkt/k")))
        let old = gw.send("GET", "/bkt/k", params: ["S3GW_ACCEL": ""])
        XCTAssertNil(redirect(old))
        XCTAssertEqual(old.status, 200)
        XCTAssertEqual(old.body.count, body.count)
    }

    /// Only token names are packed: a stored name with a line break or a colon never reaches
    /// nginx/s3gw.js, which would set it as it comes.
    func testOnlyTokenHeaderNamesArePacked() {
        let packed = AccelRedirect.pack([
            Header("x-amz-meta-ok", "1"), Header("x-amz-meta-a\nset-cookie: s=1", "2"), Header("bad name", "3"),
            Header("", "4"), Header("x-amz-meta-b", "a&b=c"),
        ])
        XCTAssertEqual(packed, "x-amz-meta-ok=1&x-amz-meta-b=a%26b%3Dc")
    }
}
