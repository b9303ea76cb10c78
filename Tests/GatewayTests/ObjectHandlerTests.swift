import GatewayCore
import SigV4
import XCTest

final class ObjectHandlerTests: XCTestCase {
    var gw: TestGateway!

    override func setUp() {
        gw = TestGateway()
        XCTAssertEqual(gw.send("PUT", "/bucket-one").status, 200)
    }

    func testPutGetRoundTripKeepsBytesMetadataAndETag() {
        let body = Array("hello, world".utf8)
        let put = gw.send(
            "PUT", "/bucket-one/dir/hello.txt", body: body,
            headers: [("Content-Type", "text/plain"), ("x-amz-meta-color", "blue"), ("Cache-Control", "no-cache")])
        XCTAssertEqual(put.status, 200)
        XCTAssertEqual(put.header("ETag"), "\"\(hexEncode(Digest.hash(.md5, body)))\"")
        let get = gw.send("GET", "/bucket-one/dir/hello.txt")
        XCTAssertEqual(get.status, 200)
        XCTAssertEqual(get.body, body)
        XCTAssertEqual(get.header("Content-Type"), "text/plain")
        XCTAssertEqual(get.header("x-amz-meta-color"), "blue")
        XCTAssertEqual(get.header("cache-control"), "no-cache")
        XCTAssertEqual(get.header("Content-Length"), "12")
        XCTAssertNotNil(get.header("x-amz-request-id"))
    }

    func testHostileKeysAreDistinctObjects() {
        let keys = ["../x", "a//b/../c.txt", "a/b/c.txt", "%2e%2e/y", String(repeating: "é", count: 512)]
        for (i, k) in keys.enumerated() {
            let raw = uriEncode(k, encodeSlash: false)
            XCTAssertEqual(gw.send("PUT", "/bucket-one/" + raw, body: [UInt8(i)]).status, 200, k)
        }
        for (i, k) in keys.enumerated() {
            XCTAssertEqual(gw.send("GET", "/bucket-one/" + uriEncode(k, encodeSlash: false)).body, [UInt8(i)], k)
        }
    }

    func testKeyLongerThan1024BytesIsRejected() {
        let key = String(repeating: "k", count: 1025)
        let r = gw.send("PUT", "/bucket-one/" + key, body: [1])
        XCTAssertEqual(r.status, 400)
        XCTAssertEqual(r.errorCode, "KeyTooLongError")
        XCTAssertEqual(gw.zone.blobCount, 0)
    }

    func testAKeyWithNULIsRefusedByEveryObjectRequest() {
        for method in ["PUT", "GET", "HEAD", "DELETE"] {
            let r = gw.send(method, "/bucket-one/a%00b", body: method == "PUT" ? [1] : [])
            XCTAssertEqual(r.status, 400, method)
            if method != "HEAD" { XCTAssertEqual(r.errorCode, "InvalidArgument", method) }
        }
        XCTAssertEqual(gw.send("PUT", "/bucket-one/src", body: [1]).status, 200)
        let copy = gw.send("PUT", "/bucket-one/dst", headers: [("x-amz-copy-source", "/bucket-one/a%00b")])
        XCTAssertEqual(copy.errorCode, "InvalidArgument")
        XCTAssertEqual(gw.zone.blobCount, 1)
    }

    func testWrongPayloadHashStoresNothing() {
        let r = gw.send(
            "PUT", "/bucket-one/k", body: Array("data".utf8),
            payloadHash: hexEncode(Digest.hash(.sha256, Array("other".utf8))))
        XCTAssertEqual(r.errorCode, "XAmzContentSHA256Mismatch")
        XCTAssertEqual(r.status, 400)
        XCTAssertEqual(gw.send("HEAD", "/bucket-one/k").status, 404)
        XCTAssertEqual(gw.zone.blobCount, 0)
    }

    func testWrongContentMD5IsBadDigest() {
        let r = gw.send(
            "PUT", "/bucket-one/k", body: Array("data".utf8),
            headers: [("Content-MD5", base64Encode(Digest.hash(.md5, Array("nope".utf8))))])
        XCTAssertEqual(r.errorCode, "BadDigest")
        XCTAssertEqual(gw.send("GET", "/bucket-one/k").errorCode, "NoSuchKey")
    }

    func testWrongSecretIsSignatureDoesNotMatch() {
        let r = gw.send("GET", "/bucket-one?list-type=2", secret: "wrong")
        XCTAssertEqual(r.status, 403)
        XCTAssertEqual(r.errorCode, "SignatureDoesNotMatch")
        XCTAssert(r.text.contains("<RequestId>"))
        XCTAssert(r.text.contains("<Resource>/bucket-one</Resource>"))
    }

    func testAnonymousIsDenied() {
        let r = gw.send("GET", "/", sign: false)
        XCTAssertEqual(r.status, 403)
        XCTAssertEqual(r.errorCode, "AccessDenied")
    }

    func testRangeAndConditionals() {
        gw.send("PUT", "/bucket-one/r", body: Array("0123456789".utf8))
        let etag = gw.send("HEAD", "/bucket-one/r").header("ETag")!
        let part = gw.send("GET", "/bucket-one/r", headers: [("Range", "bytes=2-4")])
        XCTAssertEqual(part.status, 206)
        XCTAssertEqual(part.text, "234")
        XCTAssertEqual(part.header("Content-Range"), "bytes 2-4/10")
        XCTAssertEqual(gw.send("GET", "/bucket-one/r", headers: [("Range", "bytes=-3")]).text, "789")
        XCTAssertEqual(gw.send("GET", "/bucket-one/r", headers: [("Range", "bytes=7-")]).text, "789")
        XCTAssertEqual(gw.send("GET", "/bucket-one/r", headers: [("Range", "bytes=10-")]).errorCode, "InvalidRange")
        XCTAssertEqual(gw.send("GET", "/bucket-one/r", headers: [("If-None-Match", etag)]).status, 304)
        XCTAssertEqual(gw.send("GET", "/bucket-one/r", headers: [("If-Match", etag)]).status, 200)
        XCTAssertEqual(gw.send("GET", "/bucket-one/r", headers: [("If-Match", "\"nope\"")]).status, 412)
        XCTAssertEqual(
            gw.send("GET", "/bucket-one/r", headers: [("If-Modified-Since", "Wed, 15 Nov 2023 00:00:00 GMT")]).status,
            304)
        XCTAssertEqual(
            gw.send("GET", "/bucket-one/r", headers: [("If-Unmodified-Since", "Mon, 13 Nov 2023 00:00:00 GMT")]).status,
            412)
    }

    func testNotModifiedCarriesTheRepresentationHeadersAndNoBody() {
        let put = gw.send(
            "PUT", "/bucket-one/cached", body: Array("cached".utf8),
            headers: [
                ("Cache-Control", "max-age=60"), ("Expires", "Thu, 01 Dec 2033 16:00:00 GMT"),
                ("Content-Type", "text/plain"), ("x-amz-meta-a", "1"),
            ])
        XCTAssertEqual(put.status, 200)
        let etag = put.header("ETag")!
        for method in ["GET", "HEAD"] {
            for condition in [("If-None-Match", etag), ("If-Modified-Since", "Wed, 15 Nov 2023 00:00:00 GMT")] {
                let r = gw.send(method, "/bucket-one/cached", headers: [condition])
                XCTAssertEqual(r.status, 304, "\(method) \(condition)")
                XCTAssertEqual(r.header("ETag"), etag)
                XCTAssertEqual(r.header("Last-Modified"), "Tue, 14 Nov 2023 22:13:20 GMT")
                XCTAssertEqual(r.header("Cache-Control"), "max-age=60")
                XCTAssertEqual(r.header("Expires"), "Thu, 01 Dec 2033 16:00:00 GMT")
                XCTAssertNil(r.header("Content-Length"), "a 304 must not claim a 0-byte representation")
                XCTAssertNil(r.header("Content-Type"))
                XCTAssertEqual(r.body, [])
            }
        }
    }

    /// Header values are the bytes sent (HeaderBytes): a Latin-1 byte and a UTF-8 sequence are
    /// stored and returned unchanged, and the 2 KB metadata limit counts bytes.
    func testHeaderValuesRoundTripByteForByte() {
        let latin = HeaderBytes.decode([0x63, 0x61, 0x66, 0xE9])
        let utf8 = HeaderBytes.decode([0x63, 0x61, 0x66, 0xC3, 0xA9])
        let put = gw.send(
            "PUT", "/bucket-one/meta", body: [1],
            headers: [("x-amz-meta-latin", latin), ("x-amz-meta-utf8", utf8), ("Content-Disposition", utf8)])
        XCTAssertEqual(put.status, 200, put.text)
        let get = gw.send("GET", "/bucket-one/meta")
        XCTAssertEqual(get.header("x-amz-meta-latin").map(HeaderBytes.encode), [0x63, 0x61, 0x66, 0xE9])
        XCTAssertEqual(get.header("x-amz-meta-utf8").map(HeaderBytes.encode), [0x63, 0x61, 0x66, 0xC3, 0xA9])
        XCTAssertEqual(get.header("Content-Disposition").map(HeaderBytes.encode), [0x63, 0x61, 0x66, 0xC3, 0xA9])
        // A response-* override is text: it goes out as its UTF-8 bytes.
        let overridden = gw.send("GET", "/bucket-one/meta?response-content-disposition=caf%C3%A9")
        XCTAssertEqual(
            overridden.header("Content-Disposition").map(HeaderBytes.encode), [0x63, 0x61, 0x66, 0xC3, 0xA9])
        // 2 KB of metadata is 2048 bytes: 2040 bytes of 0xE9 plus the name fit, one more does not.
        let full = HeaderBytes.decode([UInt8](repeating: 0xE9, count: 2048 - 4))
        XCTAssertEqual(gw.send("PUT", "/bucket-one/big", body: [1], headers: [("x-amz-meta-name", full)]).status, 200)
        XCTAssertEqual(
            gw.send("PUT", "/bucket-one/big", body: [1], headers: [("x-amz-meta-name", full + "x")]).errorCode,
            "MetadataTooLarge")
    }

    func testResponseOverridesAndVersionIdNull() {
        gw.send("PUT", "/bucket-one/o", body: [1, 2, 3])
        let r = gw.send("GET", "/bucket-one/o?response-content-type=image%2Fpng&versionId=null")
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.header("Content-Type"), "image/png")
        XCTAssertEqual(gw.send("GET", "/bucket-one/o?versionId=abc").errorCode, "InvalidArgument")
    }

    func testChecksumModeReturnsStoredChecksum() {
        let body = Array("checksummed".utf8)
        var crc = CRC32()
        crc.update(body)
        let value = base64Encode(crc.finalize())
        XCTAssertEqual(
            gw.send("PUT", "/bucket-one/c", body: body, headers: [("x-amz-checksum-crc32", value)]).status, 200)
        XCTAssertEqual(
            gw.send("GET", "/bucket-one/c", headers: [("x-amz-checksum-mode", "ENABLED")]).header(
                "x-amz-checksum-crc32"), value)
        XCTAssertNil(gw.send("GET", "/bucket-one/c").header("x-amz-checksum-crc32"))
        let bad = gw.send("PUT", "/bucket-one/c2", body: body, headers: [("x-amz-checksum-crc32", "AAAAAA==")])
        XCTAssertEqual(bad.status, 400)
        XCTAssertEqual(gw.send("HEAD", "/bucket-one/c2").status, 404)
    }

    func testDeleteObjectIsIdempotentAndFreesTheBlob() {
        gw.send("PUT", "/bucket-one/d", body: [9])
        XCTAssertEqual(gw.zone.blobCount, 1)
        XCTAssertEqual(gw.send("DELETE", "/bucket-one/d").status, 204)
        XCTAssertEqual(gw.send("DELETE", "/bucket-one/d").status, 204)
        XCTAssertEqual(gw.zone.blobCount, 0)
    }

    func testOverwriteFreesTheReplacedBlob() {
        gw.send("PUT", "/bucket-one/o", body: [1])
        gw.send("PUT", "/bucket-one/o", body: [2])
        XCTAssertEqual(gw.zone.blobCount, 1)
        XCTAssertEqual(gw.send("GET", "/bucket-one/o").body, [2])
    }
}

final class ZoneFailureTests: XCTestCase {
    func testUnavailableZoneIsA503BeforeAnyHeaderAndNothingIsStored() {
        let gw = TestGateway()
        gw.send("PUT", "/zone-down")
        gw.send("PUT", "/zone-down/k", body: [1, 2, 3])
        gw.zone.failing = true
        let get = gw.send("GET", "/zone-down/k")
        XCTAssertEqual(get.status, 503)
        XCTAssertEqual(get.errorCode, "ServiceUnavailable")
        let put = gw.send("PUT", "/zone-down/new", body: [4])
        XCTAssertEqual(put.status, 503)
        gw.zone.failing = false
        XCTAssertEqual(gw.send("HEAD", "/zone-down/new").status, 404)
        XCTAssertEqual(gw.send("GET", "/zone-down/k").body, [1, 2, 3])
    }
}

final class PutLimitTests: XCTestCase {
    func testSinglePutOver5GiBIsEntityTooLargeBeforeAnyByteIsStored() {
        let gw = TestGateway()
        gw.send("PUT", "/limits")
        let r = gw.send(
            "PUT", "/limits/huge", body: [1],
            headers: [("x-amz-decoded-content-length", "5368709121"), ("Content-Encoding", "aws-chunked")],
            payloadHash: "UNSIGNED-PAYLOAD")
        XCTAssertEqual(r.errorCode, "EntityTooLarge")
        XCTAssertEqual(gw.zone.blobCount, 0)
    }
}
