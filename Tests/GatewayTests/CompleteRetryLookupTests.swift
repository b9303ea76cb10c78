import GatewayCore
import GatewayTesting
import XCTest

@testable import Gateway

/// A retried CompleteMultipartUpload looks for the version its first try made among the key's
/// newest versions only, never through every version of the key.
final class CompleteRetryLookupTests: XCTestCase {
    func testTheCompletedVersionIsLookedForAmongTheNewestOnly() throws {
        let gw = TestGateway()
        XCTAssertEqual(gw.send("PUT", "/vbk").status, 200)
        try gw.metadata.setVersioning(bucket: "vbk", .enabled)
        let created = gw.send("POST", "/vbk/k?uploads")
        let id = created.text.components(separatedBy: "<UploadId>")[1].components(separatedBy: "</UploadId>")[0]
        let etag = gw.send("PUT", "/vbk/k?partNumber=1&uploadId=\(id)", body: [1, 2]).header("ETag") ?? ""
        let complete = Array(
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\(etag)</ETag></Part></CompleteMultipartUpload>"
                .utf8)
        XCTAssertEqual(gw.send("POST", "/vbk/k?uploadId=\(id)", body: complete).status, 200)
        for i in 0..<5 { XCTAssertEqual(gw.send("PUT", "/vbk/k", body: [UInt8(i)]).status, 200) }
        let b = try XCTUnwrap(try gw.metadata.bucket(named: "vbk"))

        let near = try Handlers.completedVersion(uploadId: id, bucket: b, key: "k", gw.context, limit: 6)
        XCTAssertEqual(near?.uploadId, id, "the sixth newest version")
        XCTAssertNil(
            try Handlers.completedVersion(uploadId: id, bucket: b, key: "k", gw.context, limit: 5),
            "buried under more writes than the limit: not searched for")
        // The retried Complete itself still answers with the version (the default limit).
        let retried = gw.send("POST", "/vbk/k?uploadId=\(id)", body: complete)
        XCTAssertEqual(retried.status, 200, retried.text)
    }
}
