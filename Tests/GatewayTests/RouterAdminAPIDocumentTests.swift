import XCTest

@testable import Gateway

/// docs/router-admin-api.yaml describes every route of the router's admin API, and no more.
final class RouterAdminAPIDocumentTests: XCTestCase {
    func testTheDocumentDescribesEveryRouteAndNothingElse() {
        let document = OpenAPIDocumentLines.read("router-admin-api.yaml")
        XCTAssertFalse(document.isEmpty, "docs/router-admin-api.yaml not found")
        let documented = OpenAPIDocumentLines.operations(document, prefix: "/admin")
        let routes = Set(RouterAdminAPI.routes.map { $0.method + " /admin/" + $0.pattern.joined(separator: "/") })
        XCTAssertEqual(Set(documented.keys), routes)
        XCTAssertTrue(documented.values.allSatisfy { !$0.isEmpty }, "every operation has a summary")
    }
}
