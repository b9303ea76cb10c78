import GatewayCore
import XCTest

/// Failures the client must see as S3 errors without learning anything about the installation.
final class ErrorResponseTests: XCTestCase {
    func testAZoneMissingFromTheConfigurationIsAnInternalErrorThatDoesNotNameIt() throws {
        let gw = TestGateway()
        _ = try gw.metadata.createBucket(
            BucketRecord(
                name: "orphan", owner: TestGateway.accessKey, createdAt: 0, locationConstraint: "",
                zones: ["secret-zone-name"], backendBucket: "s3gw-orphan"))
        let put = gw.send("PUT", "/orphan/k", body: Array("x".utf8))
        XCTAssertEqual(put.status, 500)
        XCTAssertEqual(put.errorCode, "InternalError")
        XCTAssertFalse(put.text.contains("secret-zone-name"), put.text)
        XCTAssertNil(try gw.metadata.object(bucket: "orphan", key: "k"))
    }

    func testEveryErrorCarriesTheRequestIdInBodyAndHeader() {
        let gw = TestGateway()
        let r = gw.send("GET", "/missing/k")
        XCTAssertEqual(r.errorCode, "NoSuchBucket")
        let id = try! XCTUnwrap(r.header("x-amz-request-id"))
        XCTAssert(r.text.contains("<RequestId>\(id)</RequestId>"), r.text)
    }
}
