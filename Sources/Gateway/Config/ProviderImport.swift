import Foundation

/// Provider zones from a CSV or JSON file, validated row by row and rendered as `[[zones]]`
/// tables for the gateway configuration. Fields (CSV header names, JSON keys):
///
///     name, country, region, endpoint, access_key, secret_key          required
///     signing_region (us-east-1), path_style (true), verify_tls (true),
///     ca_bundle, storage_class, payload_signing (false)                 optional
public enum ProviderImport {
    public struct Invalid: Error, CustomStringConvertible {
        public let file: String
        public let row: Int
        public let message: String
        /// The row is well formed but names a zone that exists (or comes twice).
        public var isConflict = false
        public var description: String { row > 0 ? "\(file): row \(row): \(message)" : "\(file): \(message)" }
    }

    static let required = ["name", "country", "region", "endpoint", "access_key", "secret_key"]
    static let optional = [
        "signing_region", "path_style", "verify_tls", "ca_bundle", "storage_class", "payload_signing",
    ]

    /// Parses and validates `text` (JSON when it starts with `[`, CSV otherwise); `existing` are
    /// zone names the configuration already has. Returns the TOML to append.
    public static func toml(from text: String, file: String, existing: Set<String>) throws(Invalid) -> String {
        try toml(rows: rows(from: text, file: file), file: file, existing: existing)
    }

    /// The provider rows of a file (JSON when it starts with `[`, CSV otherwise), field name →
    /// value, not validated yet.
    public static func rows(from text: String, file: String) throws(Invalid) -> [[String: String]] {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return try trimmed.hasPrefix("[") || trimmed.hasPrefix("{") ? json(text, file: file) : csv(text, file: file)
    }

    /// Validates provider rows and renders them as `[[zones]]` tables.
    public static func toml(rows: [[String: String]], file: String, existing: Set<String>) throws(Invalid) -> String {
        guard !rows.isEmpty else { throw Invalid(file: file, row: 0, message: "no providers in the file") }
        var seen = existing
        var out = ""
        for (i, row) in rows.enumerated() {
            let n = i + 1
            for key in row.keys where !required.contains(key) && !optional.contains(key) {
                throw Invalid(file: file, row: n, message: "unknown field \"\(key)\"")
            }
            for key in required where (row[key] ?? "").isEmpty {
                throw Invalid(file: file, row: n, message: "missing \(key)")
            }
            let name = row["name"]!
            guard name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) || $0 == "-" || $0 == "_" }) else {
                throw Invalid(file: file, row: n, message: "name \"\(name)\" may hold letters, digits, - and _ only")
            }
            guard seen.insert(name).inserted else {
                throw Invalid(file: file, row: n, message: "zone \"\(name)\" is defined twice", isConflict: true)
            }
            let endpoint = row["endpoint"]!
            guard isEndpoint(endpoint) else {
                throw Invalid(file: file, row: n, message: "endpoint \"\(endpoint)\" must be http(s)://host[:port]")
            }
            var lines = ["", "[[zones]]"]
            for key in ["name", "country", "region"] { lines.append("\(key) = \(quote(row[key]!))") }
            lines.append("kind = \"s3\"")
            for key in ["endpoint", "access_key", "secret_key", "signing_region", "ca_bundle", "storage_class"] {
                if let v = row[key], !v.isEmpty { lines.append("\(key) = \(quote(v))") }
            }
            for key in ["path_style", "verify_tls", "payload_signing"] {
                guard let v = row[key]?.lowercased(), !v.isEmpty else { continue }
                guard v == "true" || v == "false" else {
                    throw Invalid(file: file, row: n, message: "\(key) must be true or false, not \"\(v)\"")
                }
                lines.append("\(key) = \(v)")
            }
            out += lines.joined(separator: "\n") + "\n"
        }
        return out
    }

    /// `http(s)://host[:port][/]`, the host of letters, digits, dots and dashes: no path, no
    /// credentials in the URL (docs/admin-api.yaml states the same pattern).
    static func isEndpoint(_ s: String) -> Bool {
        var rest = Substring(s)
        if rest.hasPrefix("https://") {
            rest = rest.dropFirst(8)
        } else if rest.hasPrefix("http://") {
            rest = rest.dropFirst(7)
        } else {
            return false
        }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        var host = rest
        if let colon = rest.firstIndex(of: ":") {
            host = rest[..<colon]
            let port = rest[rest.index(after: colon)...]
            guard (1...5).contains(port.count), port.allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
        }
        return !host.isEmpty && host.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) || $0 == "." || $0 == "-" }
    }

    static func quote(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    static func json(_ text: String, file: String) throws(Invalid) -> [[String: String]] {
        guard let array = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [Any] else {
            throw Invalid(file: file, row: 0, message: "not a JSON array of provider objects")
        }
        var rows: [[String: String]] = []
        for (i, item) in array.enumerated() {
            guard let obj = item as? [String: Any] else {
                throw Invalid(file: file, row: i + 1, message: "not a JSON object")
            }
            var row: [String: String] = [:]
            for (k, v) in obj {
                switch v {
                case let s as String: row[k] = s
                case let b as Bool: row[k] = b ? "true" : "false"
                case let n as NSNumber: row[k] = n.stringValue
                default: throw Invalid(file: file, row: i + 1, message: "field \"\(k)\" must be a string or boolean")
                }
            }
            rows.append(row)
        }
        return rows
    }

    /// RFC 4180 CSV: a header row, fields optionally in double quotes ("" escapes a quote).
    static func csv(_ text: String, file: String) throws(Invalid) -> [[String: String]] {
        var records: [[String]] = []
        var field = ""
        var record: [String] = []
        var quoted = false
        var chars = Array(text.replacingOccurrences(of: "\r\n", with: "\n"))
        if chars.last != "\n" { chars.append("\n") }
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if quoted {
                if c == "\"" {
                    if i + 1 < chars.count && chars[i + 1] == "\"" {
                        field.append("\"")
                        i += 1
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(c)
                }
            } else if c == "\"" {
                quoted = true
            } else if c == "," {
                record.append(field)
                field = ""
            } else if c == "\n" {
                record.append(field)
                field = ""
                if !(record.count == 1 && record[0].trimmingCharacters(in: .whitespaces).isEmpty) {
                    records.append(record)
                }
                record = []
            } else {
                field.append(c)
            }
            i += 1
        }
        if quoted { throw Invalid(file: file, row: records.count, message: "unterminated quoted field") }
        guard let header = records.first?.map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) else {
            return []
        }
        var seen: Set<String> = []
        for name in header where !seen.insert(name).inserted {
            throw Invalid(file: file, row: 0, message: "the header names \"\(name)\" twice")
        }
        return try records.dropFirst().enumerated().map { (i, values) throws(Invalid) -> [String: String] in
            guard values.count == header.count else {
                throw Invalid(
                    file: file, row: i + 1, message: "has \(values.count) fields, the header has \(header.count)")
            }
            return Dictionary(uniqueKeysWithValues: zip(header, values.map { $0.trimmingCharacters(in: .whitespaces) }))
        }
    }
}
