import Foundation
import XCTest

@testable import Gateway

/// docs/admin-api.yaml describes every admin route and every permission name, no more: the
/// running gateway is checked against the document by Tests/e2e/test_admin_api_schema.py, so a
/// route missing from it would go unchecked, and a permission missing from it could not be granted
/// by a client that follows it.
final class AdminAPIDocumentTests: XCTestCase {
    static let document = OpenAPIDocumentLines.read("admin-api.yaml")

    func documentedOperations() -> [String: String] {
        OpenAPIDocumentLines.operations(Self.document, prefix: "/admin")
    }

    /// The keys of the `Permissions` schema's properties.
    func documentedPermissions() -> Set<String> {
        var out: Set<String> = []
        var inPermissions = false
        var inProperties = false
        for line in Self.document {
            if line == "    Permissions:" {
                inPermissions = true
            } else if inPermissions && line == "      properties:" {
                inProperties = true
            } else if inProperties {
                guard line.hasPrefix("        "), let colon = line.range(of: ": ") else { break }
                out.insert(
                    line[..<colon.lowerBound].trimmingCharacters(in: .whitespaces).trimmingCharacters(
                        in: CharacterSet(charactersIn: "'")))
            }
        }
        return out
    }

    func testTheDocumentDescribesEveryRouteAndNothingElse() {
        XCTAssertFalse(Self.document.isEmpty, "docs/admin-api.yaml not found")
        let routes = Set(AdminAPI.routes.map { $0.method + " /admin/" + $0.pattern.joined(separator: "/") })
        XCTAssertEqual(Set(documentedOperations().keys), routes)
    }

    /// Each summary names the permission the route checks and what it acts on, as the route
    /// table has them: an administrator reads the document to write permission sets.
    func testEachOperationNamesItsPermissionAndScope() {
        let summaries = documentedOperations()
        for route in AdminAPI.routes {
            let operation = route.method + " /admin/" + route.pattern.joined(separator: "/")
            let named = route.scope == .gateway ? "(\(route.action), gateway-wide)" : "(\(route.action) on the tenant)"
            XCTAssertTrue(
                summaries[operation]?.contains(named) ?? false,
                "\(operation): \(summaries[operation] ?? "undocumented") should say \(named)")
        }
    }

    func testTheDocumentNamesEveryPermission() {
        XCTAssertEqual(
            documentedPermissions(),
            KnownActions.all.union(["*", "s3:*", "admin:*", "sts:*", "discovery:*", "migration:*"]))
    }
}
