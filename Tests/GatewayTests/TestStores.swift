import GatewayCore
import MetadataSQL
import MetadataSQLite

/// How every test makes the SQL metadata store: the one place that says which database the
/// store tests run on (SQLite in `dir` here), so the same tests can run on another one.
/// `name` tells apart several databases in one directory; the same `dir` and `name` open the
/// same database again (a second store stands for another worker process).
func sqlStore(dir: String, name: String = "m", audits: Bool = true) throws -> SQLMetadataStore {
    try SQLMetadataStore(sqlitePath: sqlitePath(dir: dir, name: name), audits: audits)
}

/// A bare connection to `sqlStore`'s database, for tests that act behind the store's back (a
/// tamperer, a gateway of an older version).
func sqlConnection(dir: String, name: String = "m") throws -> any SQLConnection {
    try SQLiteConnection(path: sqlitePath(dir: dir, name: name))
}

private func sqlitePath(dir: String, name: String) -> String { dir + "/\(name).sqlite" }
