import Foundation
import XCTest

@testable import Gateway

/// docs/admin-api.yaml describes every admin route and every permission name, no more: the
/// running gateway is checked against the document by Tests/e2e/test_admin_api_schema.py, so a
/// route missing from it would go unchecked, and a permission missing from it could not be granted
/// by a client that follows it.
final class AdminAPIDocumentTests: XCTestCase {
    static let document: [String] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "../../docs/admin-api.yaml")
        return (try? String(contentsOf: url, encoding: .utf8))?.components(separatedBy: "\n") ?? []
    }()

    /// "METHOD /admin/path/{param}" for each operation under `paths:`.
    func documentedOperations() -> Set<String> {
        var out: Set<String> = []
        var path: String?
        for line in Self.document {
            if line.hasPrefix("  /admin"), line.hasSuffix(":") {
                path = String(line.dropFirst(2).dropLast())
            } else if line.hasPrefix("components:") {
                break
            } else if let path, line.hasPrefix("    "), !line.hasPrefix("     "), line.hasSuffix(":") {
                let method = line.trimmingCharacters(in: .whitespaces).dropLast()
                if ["get", "put", "post", "patch", "delete"].contains(String(method)) {
                    out.insert(method.uppercased() + " " + path)
                }
            }
        }
        return out
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
        XCTAssertEqual(documentedOperations(), routes)
    }

    func testTheDocumentNamesEveryPermission() {
        XCTAssertEqual(documentedPermissions(), KnownActions.all.union(["*", "s3:*", "admin:*", "sts:*"]))
    }
}
