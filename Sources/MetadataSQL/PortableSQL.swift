import Foundation

/// Statements built the same way everywhere, in the SQL both SQLite and PostgreSQL accept
/// (docs/METADATA.md, "Portable SQL").
enum PortableSQL {
    /// Writes a whole row, replacing the one with the same `key` columns: what SQLite's INSERT
    /// OR REPLACE did, as `INSERT … ON CONFLICT (key) DO UPDATE SET` every other column. Built
    /// once per table (a static `let`), not per call.
    static func upsert(into table: String, columns: String, key: [String]) -> String {
        let names = columns.split(separator: ",").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        let placeholders = Array(repeating: "?", count: names.count).joined(separator: ", ")
        let updates = names.filter { !key.contains($0) }.map { "\($0) = excluded.\($0)" }
        // A row that is all key has nothing to update ("DO UPDATE SET" alone is a syntax error).
        let action = updates.isEmpty ? "DO NOTHING" : "DO UPDATE SET \(updates.joined(separator: ", "))"
        return """
            INSERT INTO \(table) (\(names.joined(separator: ", "))) VALUES (\(placeholders)) \
            ON CONFLICT (\(key.joined(separator: ", "))) \(action)
            """
    }
}
