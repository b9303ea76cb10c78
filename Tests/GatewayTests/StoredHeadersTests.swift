import GatewayCore
import S3Protocol
import XCTest

@testable import Gateway

/// The one place that decides what request headers (or POST form fields) an object keeps.
final class StoredHeadersTests: XCTestCase {
    func testKeepsMetadataAndContentHeadersDropsTransferEncoding() throws {
        let s = try StoredHeaders.from([
            ("x-amz-meta-b", "2"), ("x-amz-meta-a", "1"), ("content-type", "text/plain"), ("cache-control", "no-cache"),
            ("content-encoding", "aws-chunked, gzip"), ("x-amz-date", "ignored"), ("authorization", "ignored"),
        ])
        XCTAssertEqual(s.contentType, "text/plain")
        XCTAssertEqual(
            s.headers,
            [
                Header("cache-control", "no-cache"), Header("content-encoding", "gzip"), Header("x-amz-meta-a", "1"),
                Header("x-amz-meta-b", "2"),
            ])
        XCTAssertEqual(try StoredHeaders.from([]).contentType, "binary/octet-stream")
    }

    func testMoreThan2KBOfUserMetadataIsRefused() {
        XCTAssertThrowsError(try StoredHeaders.from([("x-amz-meta-big", String(repeating: "v", count: 2100))])) {
            XCTAssertEqual(($0 as? S3Error)?.code.code, "MetadataTooLarge")
        }
    }
}
