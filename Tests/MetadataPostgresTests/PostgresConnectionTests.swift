import GatewayCore
import MetadataPostgres
import MetadataSQL
import XCTest

final class PostgresConnectionTests: PostgresTestCase {
    func testValuesRoundTripExactly() throws {
        let c = try connect()
        try c.exec("CREATE TABLE v (id BIGINT PRIMARY KEY, t TEXT, i BIGINT, r DOUBLE PRECISION)")
        let texts = ["", "plain", "ünïcödé ✓ 日本語 🪣", "quote ' and \" and ? and $1", "line\nbreak\ttab", "\\x00"]
        let ints: [Int64] = [0, 1, -1, .max, .min, 4_294_967_296]
        let reals: [Double] = [
            0, -0.0, 0.1, 1.0 / 3.0, .pi, 1e-300, .leastNonzeroMagnitude, .greatestFiniteMagnitude, -123456.789,
            .infinity,
            -.infinity,
        ]
        let n = max(texts.count, ints.count, reals.count)
        for k in 0..<n {
            try c.query(
                "INSERT INTO v (id, t, i, r) VALUES (?, ?, ?, ?)",
                [
                    .int(Int64(k)), .text(texts[k % texts.count]), .int(ints[k % ints.count]),
                    .real(reals[k % reals.count]),
                ])
        }
        var seen = 0
        try c.query("SELECT id, t, i, r FROM v ORDER BY id", []) { (r: any SQLRow) throws(StoreError) in
            let k = Int(r.int(0))
            XCTAssertEqual(r.text(1), texts[k % texts.count])
            XCTAssertEqual(r.int(2), ints[k % ints.count])
            XCTAssertEqual(r.real(3).bitPattern, reals[k % reals.count].bitPattern, "\(reals[k % reals.count])")
            XCTAssertFalse(r.isNull(1))
            seen += 1
        }
        XCTAssertEqual(seen, n)
    }

    func testNullReadsAsEmptyZeroAndIsNull() throws {
        let c = try connect()
        try c.exec("CREATE TABLE v (t TEXT, i BIGINT, r DOUBLE PRECISION)")
        try c.query("INSERT INTO v (t, i, r) VALUES (?, ?, ?)", [.null, .null, .null])
        var checked = false
        try c.query("SELECT t, i, r FROM v WHERE t IS NULL", []) { (r: any SQLRow) throws(StoreError) in
            XCTAssertEqual(r.text(0), "")
            XCTAssertEqual(r.int(1), 0)
            XCTAssertEqual(r.real(2), 0)
            XCTAssertTrue(r.isNull(0) && r.isNull(1) && r.isNull(2))
            XCTAssertNil(r.optionalText(0))
            checked = true
        }
        XCTAssertTrue(checked)
    }

    func testNulInTextIsRefusedNotTruncated() throws {
        let c = try connect()
        try c.exec("CREATE TABLE v (t TEXT)")
        XCTAssertThrowsError(try c.query("INSERT INTO v (t) VALUES (?)", [.text("a\u{0}b")]))
        XCTAssertEqual(try rows(c, "SELECT count(*) FROM v"), [["0"]])
    }

    func testChangesCountsRowsOfTheLastWrite() throws {
        let c = try connect()
        try c.exec("CREATE TABLE v (k TEXT PRIMARY KEY, n BIGINT)")
        try c.query("INSERT INTO v (k, n) VALUES ('a', 1), ('b', 1), ('c', 2)", [])
        XCTAssertEqual(c.changes, 3)
        try c.query("UPDATE v SET n = n + 1 WHERE n = ?", [.int(1)])
        XCTAssertEqual(c.changes, 2)
        // A read leaves the count of the last write (as SQLite's changes() does).
        _ = try rows(c, "SELECT k FROM v")
        XCTAssertEqual(c.changes, 2)
        try c.query("INSERT INTO v (k, n) VALUES (?, ?) ON CONFLICT (k) DO NOTHING", [.text("a"), .int(9)])
        XCTAssertEqual(c.changes, 0)
        try c.query("DELETE FROM v WHERE k = ?", [.text("nope")])
        XCTAssertEqual(c.changes, 0)
        try c.query("DELETE FROM v", [])
        XCTAssertEqual(c.changes, 3)
    }

    func testErrorsNameTheSQLStateAndNeverThePassword() throws {
        let c = try connect()
        try c.exec("CREATE TABLE v (k TEXT PRIMARY KEY)")
        try c.query("INSERT INTO v (k) VALUES (?)", [.text("a")])
        XCTAssertThrowsError(try c.query("INSERT INTO v (k) VALUES (?)", [.text("a")])) { error in
            XCTAssertTrue("\(error)".contains("SQLSTATE 23505"), "\(error)")
        }
        XCTAssertThrowsError(try c.exec("SELEKT 1")) { XCTAssertTrue("\($0)".contains("SQLSTATE 42601"), "\($0)") }
        // Nothing listens on port 1; the error names the host.
        XCTAssertThrowsError(try PostgresConnection(conninfo: "host=127.0.0.1 port=1 user=u connect_timeout=2")) {
            XCTAssertTrue("\($0)".contains("127.0.0.1"), "\($0)")
        }
    }

    func testAPasswordInTheURLIsRefusedHoweverSpelledAndNeverRepeated() throws {
        let forms = [
            "host=127.0.0.1 port=1 user=u password=hunter2secret",
            "host=127.0.0.1 port=1 user=u password = hunter2secret",
            "host=127.0.0.1 port=1 sslpassword='hunter2secret'",
            "postgresql://u:hunter2secret@127.0.0.1:1/db",
            "postgresql://u@127.0.0.1:1/db?pass%77ord=hunter2secret",
        ]
        for conninfo in forms {
            XCTAssertThrowsError(try PostgresConnection(conninfo: conninfo), conninfo) { error in
                XCTAssertTrue("\(error)".contains("password"), "\(error)")
                XCTAssertFalse("\(error)".contains("hunter2secret"), "\(error)")
            }
        }
        // libpq's own parse errors quote the string: not repeated.
        for malformed in ["postgresql://u@127.0.0.1:1/db?a=1&hunter2secret", "host='hunter2secret"] {
            XCTAssertThrowsError(try PostgresConnection(conninfo: malformed), malformed) { error in
                XCTAssertTrue("\(error)".contains("not a valid"), "\(error)")
                XCTAssertFalse("\(error)".contains("hunter2secret"), "\(error)")
            }
        }
        XCTAssertNoThrow(try PostgresConnection.refuseUnsafe("host=h user=u password='' dbname=d"))
    }

    func testSessionsEndTransactionsLeftIdle() throws {
        let c = try connect()
        XCTAssertEqual(try rows(c, "SHOW idle_in_transaction_session_timeout"), [["30s"]])
    }

    func testAWriteLostAfterSendingIsNotRunAgain() throws {
        let c = try connect()
        try c.exec("CREATE TABLE v (k TEXT)")
        // The statement ends its own session while running: it may or may not have committed, so it
        // fails as "outcome unknown" instead of running a second time.
        XCTAssertThrowsError(
            try c.query(
                "WITH w AS (INSERT INTO v (k) VALUES ('once') RETURNING k) "
                    + "SELECT pg_terminate_backend(pg_backend_pid()) FROM w", [])
        ) { XCTAssertTrue("\($0)".contains("outcome unknown"), "\($0)") }
        // The connection comes back for the next statement.
        XCTAssertEqual(try rows(c, "SELECT count(*) FROM v"), [["0"]])
    }

    func testPlaceholderCountMustMatchTheValues() throws {
        let c = try connect()
        XCTAssertThrowsError(try c.query("SELECT ?, ?", [.int(1)]))
        XCTAssertEqual(try rows(c, "SELECT ? || '?'", [.text("a")]), [["a?"]])
    }

    func testReadOnlySessionRefusesWrites() throws {
        let writer = try connect()
        try writer.exec("CREATE TABLE v (k TEXT)")
        let reader = try connect(readOnly: true)
        XCTAssertThrowsError(try reader.query("INSERT INTO v (k) VALUES (?)", [.text("a")])) { error in
            XCTAssertTrue("\(error)".contains("SQLSTATE 25006"), "\(error)")
        }
        XCTAssertThrowsError(
            try reader.transaction { () throws(StoreError) in try reader.query("DELETE FROM v", []) })
        XCTAssertEqual(try rows(reader, "SELECT count(*) FROM v"), [["0"]])
    }

    func testReconnectsAfterTheServerEndsTheSession() throws {
        let c = try connect()
        let admin = try connect()
        try c.exec("CREATE TABLE v (k TEXT)")
        try c.query("INSERT INTO v (k) VALUES (?)", [.text("before")])
        let first = try backendPID(c)
        try admin.query("SELECT pg_terminate_backend(CAST(? AS INTEGER))", [.int(first)])
        // The next statement finds the session gone, reconnects and runs (prepared again).
        XCTAssertEqual(try rows(c, "SELECT k FROM v"), [["before"]])
        try c.query("INSERT INTO v (k) VALUES (?)", [.text("after")])
        XCTAssertNotEqual(try backendPID(c), first)
        XCTAssertEqual(try rows(admin, "SELECT k FROM v ORDER BY k"), [["after"], ["before"]])
    }

    func testReadOnlyAfterReconnectStaysReadOnly() throws {
        let admin = try connect()
        try admin.exec("CREATE TABLE v (k TEXT)")
        let reader = try connect(readOnly: true)
        try admin.query("SELECT pg_terminate_backend(CAST(? AS INTEGER))", [.int(try backendPID(reader))])
        XCTAssertEqual(try rows(reader, "SELECT count(*) FROM v"), [["0"]])
        XCTAssertThrowsError(try reader.query("INSERT INTO v (k) VALUES ('x')", []))
    }
}
