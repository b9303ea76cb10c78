import XCTest

@testable import MetadataPostgres

final class PlaceholdersTests: XCTestCase {
    func testPlaceholdersAreNumberedOutsideQuotedTextAndComments() {
        let cases: [(sql: String, numbered: String, count: Int)] = [
            ("SELECT 1", "SELECT 1", 0),
            ("SELECT a FROM t WHERE b = ?", "SELECT a FROM t WHERE b = $1", 1),
            ("INSERT INTO t (a, b, c) VALUES (?, ?, ?)", "INSERT INTO t (a, b, c) VALUES ($1, $2, $3)", 3),
            ("UPDATE t SET a=?,b=? WHERE c=?", "UPDATE t SET a=$1,b=$2 WHERE c=$3", 3),
            ("SELECT '?' , ?", "SELECT '?' , $1", 1),
            ("SELECT 'it''s ?', ?", "SELECT 'it''s ?', $1", 1),
            ("SELECT '', ?", "SELECT '', $1", 1),
            ("SELECT \"odd?name\" FROM t WHERE x = ?", "SELECT \"odd?name\" FROM t WHERE x = $1", 1),
            ("SELECT \"a\"\"?\" , ?", "SELECT \"a\"\"?\" , $1", 1),
            ("SELECT 'a\"?' , ?", "SELECT 'a\"?' , $1", 1),
            ("SELECT ? -- why?\n, ?", "SELECT $1 -- why?\n, $2", 2),
            ("SELECT ? /* a ? b */ , ?", "SELECT $1 /* a ? b */ , $2", 2),
            ("SELECT ? /*/ ? */ , ?", "SELECT $1 /*/ ? */ , $2", 2),
            ("SELECT 5-?", "SELECT 5-$1", 1),
            ("SELECT 'ünïcödé ?', ? || 'ö'", "SELECT 'ünïcödé ?', $1 || 'ö'", 1),
            ("SELECT ?,?,?,?,?,?,?,?,?,?,?", "SELECT $1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11", 11),
        ]
        for c in cases {
            let (sql, count) = Placeholders.numbered(c.sql)
            XCTAssertEqual(sql, c.numbered, c.sql)
            XCTAssertEqual(count, c.count, c.sql)
        }
    }
}
