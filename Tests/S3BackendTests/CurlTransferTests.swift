import GatewayCore
import XCTest

@testable import S3Backend

/// libcurl option results are checked: an option curl refuses fails the request with its name.
final class CurlTransferTests: XCTestCase {
    override func setUp() { CurlGlobal.initialize() }

    func testRefusedOptionFailsWithItsName() {
        // libcurl refuses an upload size below -1 (CURLE_BAD_FUNCTION_ARGUMENT).
        let transport = CurlTransport(options: .init())
        let request = HTTPRequest(
            method: "PUT", url: "http://127.0.0.1:9/", headers: [("Host", "127.0.0.1")], bodyLength: -5)
        guard case .internalFailure(let text)? = storeError({ _ = try transport.start(request) }) else {
            return XCTFail("a refused curl option went unnoticed")
        }
        XCTAssertTrue(text.contains("CURLOPT_INFILESIZE_LARGE"), text)
    }

    /// Nothing listens on the discard port: the transfer fails as the zone being unavailable.
    func testUnreachableProviderIsZoneUnavailable() throws {
        let transport = CurlTransport(options: .init())
        let request = HTTPRequest(
            method: "GET", url: "http://127.0.0.1:9/", headers: [("Host", "127.0.0.1")], bodyLength: nil)
        let exchange = try transport.start(request)
        try exchange.closeUpload()
        guard case .zoneUnavailable? = storeError({ _ = try exchange.waitForResponse() }) else {
            return XCTFail("a refused connection was not zoneUnavailable")
        }
    }
}
