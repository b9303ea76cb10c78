import Foundation
import GatewayCore
import MetadataSQL
import MetadataSQLite
import XCTest

/// The prepared-statement cache finds statements by where their text is stored as well as by
/// the text: texts built per call (new storage each time, freed ones' addresses reused once the
/// map starts over past its bound) must always run the statement their text says, and the
/// same static text keeps its statement throughout.
final class SQLiteStatementCacheTests: XCTestCase {
    func testEveryTextRunsItsOwnStatementWhateverItsStorage() throws {
        let dir = NSTemporaryDirectory() + "stmt-cache-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let db = try SQLiteConnection(path: dir + "/t.db")
        try db.exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)")
        for k in 0..<10 { try db.query("INSERT INTO t (k, v) VALUES (?, ?)", [.int(Int64(k)), .text("v\(k)")]) }
        func value(_ sql: String) throws -> [String] {
            var out: [String] = []
            try db.query(sql, []) { r in out.append(r.text(0)) }
            return out
        }
        // The same static text many times: one statement, the same answer.
        let fixed = "SELECT v FROM t WHERE k = 3 -- a statement long enough to live on the heap"
        for _ in 0..<5 { XCTAssertEqual(try value(fixed), ["v3"]) }
        // 600 texts built per call (past the storage map's bound), each freed before the next is
        // built, so addresses repeat with different texts of the same length.
        for i in 0..<600 {
            let k = i % 10
            let built = "SELECT v FROM t WHERE k = \(k) -- built per call, padded to one length"
            XCTAssertEqual(try value(built), ["v\(k)"], built)
            XCTAssertEqual(try value(fixed), ["v3"])
        }
    }
}
