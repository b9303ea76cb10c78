import Foundation

/// A TOML subset parser that remembers the line of every value, so `s3gw config check` can
/// name the bad line for semantic errors too (like `nginx -t`). Supports `[table]`,
/// `[[array-of-tables]]`, and `key = "string" | 'literal' | integer | float | true/false | [strings]`.
struct TOMLDocument {
    struct Value {
        enum Kind {
            case string(String)
            case integer(Int)
            /// A decimal number with a fraction or an exponent (`0.023`, `1e3`).
            case float(Double)
            case bool(Bool)
            case array([String])
        }
        let kind: Kind
        let line: Int
    }

    struct Table {
        var name: String
        var line: Int
        var values: [String: Value] = [:]
        var order: [String] = []
    }

    var tables: [Table] = []

    struct ParseError: Error {
        let line: Int
        let message: String
    }

    static func parse(_ text: String) throws(ParseError) -> TOMLDocument {
        var doc = TOMLDocument()
        doc.tables.append(Table(name: "", line: 0))
        var lineNo = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNo += 1
            let line = stripComment(String(rawLine)).trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            if line.hasPrefix("[[") {
                guard line.hasSuffix("]]") else { throw ParseError(line: lineNo, message: "unterminated table header") }
                let name = line.dropFirst(2).dropLast(2).trimmingCharacters(in: .whitespaces)
                guard isBareKey(name) else { throw ParseError(line: lineNo, message: "invalid table name \"\(name)\"") }
                doc.tables.append(Table(name: name + "[]", line: lineNo))
            } else if line.hasPrefix("[") {
                guard line.hasSuffix("]") else { throw ParseError(line: lineNo, message: "unterminated table header") }
                let name = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                guard isBareKey(name) else { throw ParseError(line: lineNo, message: "invalid table name \"\(name)\"") }
                if doc.tables.contains(where: { $0.name == name }) {
                    throw ParseError(line: lineNo, message: "table [\(name)] defined twice")
                }
                doc.tables.append(Table(name: name, line: lineNo))
            } else {
                guard let eq = line.firstIndex(of: "=") else {
                    throw ParseError(line: lineNo, message: "expected key = value")
                }
                let key = line[..<eq].trimmingCharacters(in: .whitespaces)
                guard isBareKey(key) else { throw ParseError(line: lineNo, message: "invalid key \"\(key)\"") }
                let raw = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
                let value = try parseValue(raw, line: lineNo)
                var table = doc.tables.removeLast()
                if table.values[key] != nil {
                    throw ParseError(line: lineNo, message: "duplicate key \"\(key)\"")
                }
                table.values[key] = Value(kind: value, line: lineNo)
                table.order.append(key)
                doc.tables.append(table)
            }
        }
        return doc
    }

    private static func isBareKey(_ s: String) -> Bool {
        !s.isEmpty && s.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == "." }
    }

    /// Drops a `#` comment that is not inside a string.
    private static func stripComment(_ line: String) -> String {
        var inString: Character?
        var escaped = false
        for (i, c) in zip(line.indices, line) {
            if escaped {
                escaped = false
                continue
            }
            if let q = inString {
                if c == "\\" && q == "\"" { escaped = true } else if c == q { inString = nil }
            } else if c == "\"" || c == "'" {
                inString = c
            } else if c == "#" {
                return String(line[..<i])
            }
        }
        return line
    }

    private static func parseValue(_ raw: String, line: Int) throws(ParseError) -> Value.Kind {
        if raw.hasPrefix("\"") || raw.hasPrefix("'") {
            return .string(try parseString(raw, line: line))
        }
        if raw == "true" { return .bool(true) }
        if raw == "false" { return .bool(false) }
        if let i = Int(raw.replacingOccurrences(of: "_", with: "")) { return .integer(i) }
        if let f = parseFloat(raw) { return .float(f) }
        if raw.hasPrefix("[") {
            guard raw.hasSuffix("]") else { throw ParseError(line: line, message: "unterminated array") }
            let inner = raw.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
            if inner.isEmpty { return .array([]) }
            var items: [String] = []
            for part in splitArray(String(inner)) {
                let p = part.trimmingCharacters(in: .whitespaces)
                if p.isEmpty { continue }
                items.append(try parseString(p, line: line))
            }
            return .array(items)
        }
        // The value itself is not echoed: it may be a secret (secret_key) headed for a log.
        throw ParseError(
            line: line, message: "invalid value (expected a quoted string, number, true/false or [strings])")
    }

    /// TOML's decimal floats: a sign, digits with an optional fraction and exponent, `_` between
    /// digits; no inf or nan (no setting wants them).
    private static func parseFloat(_ raw: String) -> Double? {
        let s = raw.replacingOccurrences(of: "_", with: "")
        guard s.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }),
            s.allSatisfy({ $0.isASCII && ($0.isNumber || "+-.eE".contains($0)) }),
            let f = Double(s), f.isFinite
        else { return nil }
        return f
    }

    private static func splitArray(_ s: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var inString: Character?
        for c in s {
            if let q = inString {
                if c == q { inString = nil }
                current.append(c)
            } else if c == "\"" || c == "'" {
                inString = c
                current.append(c)
            } else if c == "," {
                parts.append(current)
                current = ""
            } else {
                current.append(c)
            }
        }
        parts.append(current)
        return parts
    }

    private static func parseString(_ raw: String, line: Int) throws(ParseError) -> String {
        guard let q = raw.first, raw.count >= 2, raw.last == q else {
            throw ParseError(line: line, message: "unterminated string")
        }
        let body = raw.dropFirst().dropLast()
        if q == "'" { return String(body) }
        var out = ""
        var escaped = false
        for c in body {
            if escaped {
                switch c {
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "\\": out.append("\\")
                case "\"": out.append("\"")
                default: throw ParseError(line: line, message: "unsupported escape \\\(c)")
                }
                escaped = false
            } else if c == "\\" {
                escaped = true
            } else if c == "\"" {
                throw ParseError(line: line, message: "unexpected quote inside string")
            } else {
                out.append(c)
            }
        }
        return out
    }
}
