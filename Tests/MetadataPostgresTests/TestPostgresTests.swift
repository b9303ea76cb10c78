import PostgresTesting
import XCTest

final class TestPostgresTests: XCTestCase {
    func testADatabaseIsNamedInEitherFormOfConnectionString() {
        XCTAssertEqual(
            TestPostgres.naming("host=127.0.0.1 port=5 user=s3gw dbname=postgres", database: "t_1"),
            "host=127.0.0.1 port=5 user=s3gw dbname=postgres dbname=t_1")
        XCTAssertEqual(
            TestPostgres.naming("postgresql://s3gw@127.0.0.1:5/postgres?sslmode=disable", database: "t_1"),
            "postgresql://s3gw@127.0.0.1:5/t_1?sslmode=disable")
        XCTAssertEqual(TestPostgres.naming("postgres://h1:5,h2:6", database: "t_1"), "postgres://h1:5,h2:6/t_1")
        XCTAssertEqual(TestPostgres.naming("postgresql://h?user=u", database: "t_1"), "postgresql://h/t_1?user=u")
    }
}
