import GatewayCore
import MetadataPostgres
import MetadataSQL
import PostgresTesting
import XCTest

/// A test against a real PostgreSQL server: each test gets a fresh database.
class PostgresTestCase: XCTestCase {
    var conninfo = ""

    override func setUpWithError() throws {
        if case .absent(let reason) = TestPostgres.server { throw XCTSkip(reason) }
        conninfo = try XCTUnwrap(TestPostgres.freshDatabase())
    }

    override func tearDownWithError() throws {
        if !conninfo.isEmpty { try TestPostgres.drop(conninfo) }
    }

    func connect(readOnly: Bool = false) throws -> PostgresConnection {
        try PostgresConnection(conninfo: conninfo, readOnly: readOnly)
    }

    /// The first `columns` columns of `sql`'s rows, as text.
    func rows(_ c: PostgresConnection, _ sql: String, _ args: [SQLValue] = [], columns: Int32 = 1) throws -> [[String]]
    {
        var out: [[String]] = []
        try c.query(sql, args) { (r: any SQLRow) throws(StoreError) in
            out.append((0..<columns).map { i in r.text(i) })
        }
        return out
    }

    func backendPID(_ c: PostgresConnection) throws(StoreError) -> Int64 {
        var pid: Int64 = 0
        try c.query("SELECT pg_backend_pid()", []) { (r: any SQLRow) throws(StoreError) in pid = r.int(0) }
        return pid
    }
}

/// Shared state between a test and the threads it starts.
final class Box<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: T
    init(_ value: T) { self.value = value }
    func with<R>(_ f: (inout T) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return f(&value)
    }
    var get: T { with { $0 } }
}
