import GatewayCore

/// One database connection as the SQL metadata store sees it: SQLite (`MetadataSQLite`) and
/// PostgreSQL (`MetadataPostgres`) each implement it over their C library, which never leaks
/// past that implementation. A connection is used by one thread only; the store keeps one per
/// thread.
///
/// Statements are written once, in the SQL both databases accept, with `?` placeholders (a
/// PostgreSQL connection numbers them `$1, $2, …` itself, outside quoted text). Where the two
/// dialects differ the store asks `dialect` (see docs/METADATA.md, "Portable SQL").
public protocol SQLConnection: AnyObject {
    var dialect: SQLDialect { get }
    /// Whether changes through this connection append their audit record (the store's choice).
    var audits: Bool { get set }

    /// Runs statements that take no arguments and return no rows (DDL, BEGIN, …).
    func exec(_ sql: String) throws(StoreError)
    /// Runs one statement with `args` bound to its placeholders in order, calling `row` for
    /// each result row (in the order the database returns them).
    func query(_ sql: String, _ args: [SQLValue], row: (any SQLRow) throws(StoreError) -> Void) throws(StoreError)
    /// Rows inserted, updated or deleted by the last statement run through this connection.
    var changes: Int { get }

    /// Runs `body` as one write transaction, committed when it returns and rolled back when it
    /// throws. Write transactions are serialized across every connection of every process and
    /// host (SQLite: BEGIN IMMEDIATE; PostgreSQL: a transaction-scoped advisory lock taken
    /// first), so a transaction's reads see every earlier commit and no other *write
    /// transaction* changes anything under it: conditional writes and the audit chain's order
    /// rely on this. Job claims (`concurrentTransaction`) are the exception: writes to `jobs`
    /// repeat their owner/state condition in their own WHERE (docs/METADATA.md).
    func transaction<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T
    /// Runs `body` as a write transaction that is *not* serialized with the others (PostgreSQL:
    /// READ COMMITTED, rows locked by what its statements lock, e.g. `FOR UPDATE SKIP LOCKED`;
    /// SQLite has one writer anyway and treats it as `transaction`). For job claims only: many
    /// agents claim at once and must not wait for each other. Appends no audit record.
    func concurrentTransaction<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T
    /// Runs `body` reading one consistent snapshot; writers do not wait for it.
    func readTransaction<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T
}

extension SQLConnection {
    /// Whether `sql` returns at least one row.
    public func exists(_ sql: String, _ args: [SQLValue]) throws(StoreError) -> Bool {
        var found = false
        try query(sql, args) { _ in found = true }
        return found
    }

    /// `query` for statements that return no rows.
    public func query(_ sql: String, _ args: [SQLValue]) throws(StoreError) {
        try query(sql, args) { _ in }
    }
}

public enum SQLDialect: Sendable {
    case sqlite
    case postgres
}

/// A value bound to a placeholder. Text never contains NUL (PostgreSQL's text cannot hold it).
public enum SQLValue: Sendable {
    case text(String)
    case int(Int64)
    case real(Double)
    case null
}

/// One result row, read by column index (0-based). Reading a column as the wrong type converts
/// as SQLite does (NULL reads as "", 0, 0.0).
public protocol SQLRow {
    func text(_ i: Int32) -> String
    func int(_ i: Int32) -> Int64
    func real(_ i: Int32) -> Double
    func isNull(_ i: Int32) -> Bool
}

extension SQLRow {
    public func optionalText(_ i: Int32) -> String? { isNull(i) ? nil : text(i) }
    public func optionalReal(_ i: Int32) -> Double? { isNull(i) ? nil : real(i) }
}
