import GatewayCore
import MetadataPostgres
import MetadataSQL
import PostgresTesting
import XCTest

/// libpq's several-host connection strings pass through PostgresConnection unchanged: a dead
/// first host is skipped and the writable one is used.
final class PostgresMultiHostTests: PostgresTestCase {
    func testConnectsPastADeadHostToTheLiveServerAndWrites() throws {
        let dead = try DeadPort()
        let url = try XCTUnwrap(TestPostgres.multiHost(conninfo, deadPort: dead.port))
        let c = try PostgresConnection(conninfo: url)
        try c.exec("CREATE TABLE v (t TEXT)")
        try c.query("INSERT INTO v (t) VALUES (?)", [.text("written")])
        XCTAssertEqual(try rows(c, "SELECT t FROM v"), [["written"]])
        XCTAssertEqual(try rows(c, "SHOW transaction_read_only"), [["off"]])
        // The row is in the live server's database: a plain connection sees it.
        XCTAssertEqual(try rows(try connect(), "SELECT t FROM v"), [["written"]])
        XCTAssertNotEqual(try rows(c, "SELECT inet_server_port()"), [["\(dead.port)"]])
    }

    func testEveryHostDeadFailsWithoutTheConnectionString() throws {
        let first = try DeadPort()
        let second = try DeadPort()
        let url = try XCTUnwrap(TestPostgres.multiHost(conninfo + " port=\(second.port)", deadPort: first.port))
        XCTAssertThrowsError(try PostgresConnection(conninfo: url)) { error in
            XCTAssertTrue("\(error)".contains("postgres connect"), "\(error)")
            XCTAssertFalse("\(error)".contains("target_session_attrs"), "\(error)")
        }
    }
}
