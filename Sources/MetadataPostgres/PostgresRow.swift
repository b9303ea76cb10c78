internal import CPostgres
import MetadataSQL

/// One row of a text-format result. Values are parsed from PostgreSQL's text output; NULL reads
/// as "", 0 and 0.0 (as SQLite's column accessors do).
struct PostgresRow: SQLRow {
    let result: OpaquePointer
    let row: Int32

    func text(_ i: Int32) -> String {
        guard let p = PQgetvalue(result, row, i) else { return "" }
        let count = Int(PQgetlength(result, row, i))
        return p.withMemoryRebound(to: UInt8.self, capacity: count) {
            String(decoding: UnsafeBufferPointer(start: $0, count: count), as: UTF8.self)
        }
    }

    func int(_ i: Int32) -> Int64 {
        if isNull(i) { return 0 }
        let t = text(i)
        if let v = Int64(t) { return v }
        // Booleans (EXISTS, comparisons) and numerics (SUM over bigint) read as SQLite would.
        switch t {
        case "t": return 1
        case "f": return 0
        default:
            guard let d = Double(t), d.isFinite, d >= -9.2e18, d <= 9.2e18 else { return 0 }
            return Int64(d)
        }
    }

    func real(_ i: Int32) -> Double {
        if isNull(i) { return 0 }
        return Double(text(i)) ?? 0
    }

    func isNull(_ i: Int32) -> Bool { PQgetisnull(result, row, i) == 1 }
}
