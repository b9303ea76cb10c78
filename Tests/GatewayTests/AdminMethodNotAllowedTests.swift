import Gateway
import XCTest

/// What the document promises of every path: a method the path lacks is 405 naming the ones it has.
final class AdminMethodNotAllowedTests: XCTestCase {
    func testAMissingMethodIs405WithAllow() throws {
        let gw = TestGateway()
        let root = try XCTUnwrap(gw.context.identities.resolve(TestGateway.accessKey)?.principal)
        for (method, path, allow) in [
            ("PUT", ["tenants"], "GET, POST"), ("POST", ["tenants", "x"], "DELETE, GET"),
            ("GET", ["tenants", "x", "users", "u", "credentials", "K", "rotate"], "POST"),
            // Not the zone {zone} called so: the literal resource, with its own methods only.
            ("GET", ["zones", "sweep-uploads"], "POST"), ("DELETE", ["zones", "local-1"], "GET"),
        ] {
            let r = AdminAPI.dispatch(
                AdminRequest(method: method, path: path, principal: root, now: TestGateway.now), gw.context)
            XCTAssertEqual(r.status, 405, "\(method) \(path)")
            XCTAssertEqual(r.headers.first { $0.name == "Allow" }?.value, allow, "\(method) \(path)")
            XCTAssertTrue(String(decoding: r.body, as: UTF8.self).contains("MethodNotAllowed"))
        }
    }
}
