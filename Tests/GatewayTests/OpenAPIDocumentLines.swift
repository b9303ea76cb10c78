import Foundation

/// An OpenAPI document of docs/ read line by line, as the project writes them (two-space indents,
/// paths before `components:`): enough to hold a route table against it without a YAML parser.
enum OpenAPIDocumentLines {
    /// The lines of docs/`name`; empty when the file is missing (the tests then say so).
    static func read(_ name: String) -> [String] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "../../docs/" + name)
        return (try? String(contentsOf: url, encoding: .utf8))?.components(separatedBy: "\n") ?? []
    }

    /// "METHOD /prefix/path/{param}" for each operation under `paths:` whose path starts with
    /// `prefix`, with its summary.
    static func operations(_ lines: [String], prefix: String) -> [String: String] {
        var out: [String: String] = [:]
        var path: String?
        var operation: String?
        for line in lines {
            if line.hasPrefix("  " + prefix), line.hasSuffix(":") {
                path = String(line.dropFirst(2).dropLast())
                operation = nil
            } else if line.hasPrefix("components:") {
                break
            } else if let path, line.hasPrefix("    "), !line.hasPrefix("     "), line.hasSuffix(":") {
                let method = line.trimmingCharacters(in: .whitespaces).dropLast()
                operation = nil
                if ["get", "put", "post", "patch", "delete"].contains(String(method)) {
                    operation = method.uppercased() + " " + path
                    out[operation!] = ""
                }
            } else if let op = operation, line.hasPrefix("      summary: ") {
                out[op] = String(line.dropFirst("      summary: ".count))
            }
        }
        return out
    }
}
