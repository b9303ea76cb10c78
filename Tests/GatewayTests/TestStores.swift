import Foundation
import GatewayCore
import MetadataPostgres
import MetadataSQL
import MetadataSQLite
import PostgresTesting
import XCTest

/// How every test makes the SQL metadata store: the one place that says which database the
/// store tests run on — SQLite in `dir`, or with S3GW_TEST_METADATA=postgres a PostgreSQL database
/// (on S3GW_TEST_POSTGRES's server, see PostgresTesting) — so the same tests run on both.
/// `name` tells apart several databases in one directory; the same `dir` and `name` open the
/// same database again (a second store stands for another worker process).
func sqlStore(dir: String, name: String = "m", audits: Bool = true) throws -> SQLMetadataStore {
    if let conninfo = try postgresDatabase(dir: dir, name: name) {
        return try SQLMetadataStore(postgres: conninfo, audits: audits)
    }
    return try SQLMetadataStore(sqlitePath: sqlitePath(dir: dir, name: name), audits: audits)
}

/// A bare connection to `sqlStore`'s database, for tests that act behind the store's back (a
/// tamperer, a gateway of an older version).
func sqlConnection(dir: String, name: String = "m") throws -> any SQLConnection {
    if let conninfo = try postgresDatabase(dir: dir, name: name) {
        return try PostgresConnection(conninfo: conninfo)
    }
    return try SQLiteConnection(path: sqlitePath(dir: dir, name: name))
}

/// Whether the store tests run on PostgreSQL (S3GW_TEST_METADATA=postgres).
let storeTestsOnPostgres = ProcessInfo.processInfo.environment["S3GW_TEST_METADATA"] == "postgres"

private func postgresDatabase(dir: String, name: String) throws -> String? {
    guard storeTestsOnPostgres else { return nil }
    if case .absent(let reason) = TestPostgres.server { throw XCTSkip(reason) }
    return try TestPostgres.database(for: dir + "/" + name)
}

private func sqlitePath(dir: String, name: String) -> String { dir + "/\(name).sqlite" }
