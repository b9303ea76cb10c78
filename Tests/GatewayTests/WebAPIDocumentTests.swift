import Foundation
import XCTest

@testable import Gateway

/// docs/web-api.yaml describes every `/api/` route, no more, and each operation's summary names
/// the permission the route checks: the UI and its tests are written against the document
/// (Tests/e2e/test_discovery.py validates live answers against its schemas).
final class WebAPIDocumentTests: XCTestCase {
    static let document = OpenAPIDocumentLines.read("web-api.yaml")

    func documentedOperations() -> [String: String] {
        OpenAPIDocumentLines.operations(Self.document, prefix: "/api")
    }

    func testTheDocumentDescribesEveryRouteAndNothingElse() {
        XCTAssertFalse(Self.document.isEmpty, "docs/web-api.yaml not found")
        let routes = Set(WebAPI.routes.map { $0.method + " /api/" + $0.pattern.joined(separator: "/") })
        XCTAssertEqual(Set(documentedOperations().keys), routes)
    }

    func testEachOperationNamesItsPermission() {
        let summaries = documentedOperations()
        for route in WebAPI.routes {
            let operation = route.method + " /api/" + route.pattern.joined(separator: "/")
            let named = "(\(route.action) on the tenant)"
            XCTAssertTrue(
                summaries[operation]?.contains(named) ?? false,
                "\(operation): \(summaries[operation] ?? "undocumented") should say \(named)")
        }
    }

    /// Only the routes the document says take presigned URLs do.
    func testPresignedURLsAreAcceptedWhereTheDocumentSays() {
        let text = Self.document.joined(separator: "\n")
        for route in WebAPI.routes {
            let path = "  /api/" + route.pattern.joined(separator: "/") + ":"
            guard let start = text.range(of: path + "\n") else { continue }
            let rest = text[start.upperBound...]
            // Up to the next path, or the components after the last one.
            let paths = rest.components(separatedBy: "\ncomponents:")[0]
            let block = paths.split(separator: "\n  /api", maxSplits: 1).first ?? paths[...]
            XCTAssertEqual(block.contains("sigv4Query"), route.presigned, path)
        }
    }
}
