internal import CSQLite
import GatewayCore
import MetadataSQL

#if canImport(Glibc)
    import Glibc
#endif

/// Owns one sqlite3 handle; every C status goes through `check`.
/// Used by one thread only: the store keeps one per thread.
public final class SQLiteConnection: SQLConnection, @unchecked Sendable {
    let handle: OpaquePointer
    private var statements: [String: OpaquePointer] = [:]
    /// The same statements found by where their SQL text is stored: the store passes the same
    /// `static let` strings every time, so a lookup hashes an address, not a statement of
    /// several hundred bytes (3–4 k instructions a query). Checked with `==`, which is one
    /// comparison for the same storage, a byte comparison otherwise (and an entry keeps its
    /// text alive, so its address is not reused meanwhile). Texts built per call land at new
    /// addresses: past `byStorageLimit` entries the map starts over.
    private var byStorage: [Int: (sql: String, stmt: OpaquePointer)] = [:]
    public var audits = true
    /// This process's writers of the same file queue here before BEGIN IMMEDIATE.
    private let writers: SQLiteWriterGate
    /// Whether this connection holds `writers` (a transaction begun inside another on the same
    /// connection fails in SQLite at once; it must not wait on its own gate first).
    private var holdsWriterGate = false
    public var dialect: SQLDialect { .sqlite }
    /// Syncs the log after each commit (`SQLiteWALSync`); nil for a read-only connection.
    private var walSync: SQLiteWALSync?
    /// The database's file as SQLite names it (its full path, symlinks resolved).
    private var databaseFile: String { String(cString: sqlite3_db_filename(handle, "main")) }

    /// The host's bucket generation of this database (`BucketRecordCache`): eight bytes in
    /// `<database>-buckets`, made with the database's owner and mode; nil where it cannot be.
    public func bucketGeneration() -> SharedGeneration? {
        let file = databaseFile
        return SharedGeneration.at(file + "-buckets", like: file)
    }

    /// `checkpoints` false: this connection never checkpoints the WAL, neither automatically nor
    /// when it closes as the last one — with continuous backup on, its shipper alone does
    /// (docs/METADATA.md, "Backup and restore"), or a checkpoint and WAL restart could discard
    /// frames it has not shipped yet.
    ///
    /// `walGroup`: the sync commits wait for (tests give a double); nil: this database's.
    public init(path: String, readOnly: Bool = false, checkpoints: Bool = true, walGroup: GroupSync? = nil)
        throws(StoreError)
    {
        _ = Self.configured
        var db: OpaquePointer?
        let flags =
            (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            if let db { sqlite3_close_v2(db) }
            throw .internalFailure("sqlite open \(path): \(rc)")
        }
        handle = db
        writers = SQLiteWriterGate.of(path)
        // Workers in several processes share the file: wait on locks rather than failing.
        SQLiteBusyWait.install(db)
        // A read-only reader (a forensic check) changes nothing, not even the journal mode.
        if readOnly { return }
        try enableWAL()
        if !checkpoints { csqlite_no_checkpoint_on_close(db) }
        // NORMAL: SQLite does not sync the log at commit; the WAL hook does, in groups.
        try exec("PRAGMA synchronous=NORMAL")
        let group =
            walGroup ?? SQLiteWALSync.group(wal: String(cString: sqlite3_filename_wal(sqlite3_db_filename(db, "main"))))
        walSync = SQLiteWALSync.install(db, group: group, checkpoints: checkpoints)
        try exec("PRAGMA foreign_keys=ON")
    }

    /// Process-wide settings, before SQLite initializes (on the first open; later they would be
    /// refused, harmlessly): no memory statistics, so allocations take no global mutex.
    private static let configured: Void = { _ = csqlite_disable_memory_statistics() }()

    /// Switching to WAL needs a moment of exclusive access, and the busy handler does not cover
    /// it: several workers opening a fresh database at once retry instead of failing.
    private func enableWAL() throws(StoreError) {
        for attempt in 0..<50 {
            var mode = ""
            try query("PRAGMA journal_mode", []) { r in mode = r.text(0) }
            if mode.lowercased() == "wal" { return }
            var result = ""
            do {
                try query("PRAGMA journal_mode=WAL", []) { r in result = r.text(0) }
            } catch {
                if attempt == 49 { throw error }
            }
            if result.lowercased() == "wal" { return }
            usleep(100_000)
        }
    }

    deinit {
        for (_, s) in statements { sqlite3_finalize(s) }
        sqlite3_close_v2(handle)
    }

    func check(_ rc: Int32, _ what: String) throws(StoreError) {
        if rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW {
            throw .internalFailure("\(what): \(String(cString: sqlite3_errmsg(handle))) (\(rc))")
        }
    }

    public func exec(_ sql: String) throws(StoreError) {
        try check(sqlite3_exec(handle, sql, nil, nil, nil), sql)
        try syncCommitted()
    }

    /// Waits for the log's sync once a commit happened, outside any transaction and with this
    /// process's writer gate let go (held, it would keep the next writer from committing into
    /// the same sync): after a statement that committed on its own, or after a write
    /// transaction.
    private func syncCommitted() throws(StoreError) {
        guard let walSync, walSync.pending, !holdsWriterGate, sqlite3_get_autocommit(handle) != 0 else { return }
        walSync.pending = false
        // Before the sync, which may fail: the change is committed either way.
        if walSync.bucketsChanged {
            walSync.bucketsChanged = false
            bucketGeneration()?.advance()
        }
        do {
            try walSync.group.sync()
        } catch {
            SQLiteWALSync.failed(error)
            throw error
        }
    }

    /// Runs `body` inside BEGIN IMMEDIATE … COMMIT so concurrent writers serialize cleanly.
    public func transaction<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        try writeTransaction(body)
    }

    /// SQLite has one writer at a time anyway: the same as `transaction`.
    public func concurrentTransaction<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        try writeTransaction(body)
    }

    /// A write transaction, begun once this process's other writers of the file are done.
    private func writeTransaction<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        if holdsWriterGate { return try inTransaction("BEGIN IMMEDIATE", body) }
        guard writers.lock(waiting: SQLiteBusyWait.timeout) else {
            throw .internalFailure("BEGIN IMMEDIATE: database is locked (another writer of this process held it)")
        }
        holdsWriterGate = true
        let result: T
        do {
            result = try inTransaction("BEGIN IMMEDIATE", body)
        } catch {
            holdsWriterGate = false
            writers.unlock()
            throw error
        }
        holdsWriterGate = false
        writers.unlock()
        try syncCommitted()
        return result
    }

    /// Runs `body` inside BEGIN DEFERRED … COMMIT: its reads see one WAL snapshot, and no
    /// writer waits for it (unlike `transaction`).
    public func readTransaction<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        try inTransaction("BEGIN DEFERRED", body)
    }

    private func inTransaction<T>(_ begin: String, _ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        // Prepared once and kept (`query`'s cache), not parsed again by `sqlite3_exec` for every
        // transaction; the same sync afterwards as `exec`.
        try query(begin, []) { _ in }
        do {
            let result = try body()
            try query("COMMIT", []) { _ in }
            return result
        } catch {
            try? query("ROLLBACK", []) { _ in }
            walSync?.bucketsChanged = false
            throw error
        }
    }

    private static let byStorageLimit = 256

    private func remember(_ identity: Int?, _ sql: String, _ stmt: OpaquePointer) {
        guard let identity else { return }
        if byStorage.count >= Self.byStorageLimit { byStorage.removeAll(keepingCapacity: true) }
        byStorage[identity] = (sql, stmt)
    }

    /// Where a large native string keeps its UTF-8 (nil for small and bridged strings, which
    /// take the text-keyed cache).
    private static func storageIdentity(_ sql: String) -> Int? {
        guard sql.utf8.count > 15 else { return nil }
        return sql.utf8.withContiguousStorageIfAvailable { Int(bitPattern: $0.baseAddress) }
    }

    /// Prepares (and caches) a statement, binds `args`, and calls `row` for each result row.
    public func query(_ sql: String, _ args: [SQLValue], row: (any SQLRow) throws(StoreError) -> Void)
        throws(StoreError)
    {
        let stmt: OpaquePointer
        let identity = Self.storageIdentity(sql)
        if let identity, let held = byStorage[identity], held.sql == sql {
            stmt = held.stmt
        } else if let cached = statements[sql] {
            stmt = cached
            remember(identity, sql, cached)
        } else {
            var s: OpaquePointer?
            try check(sqlite3_prepare_v2(handle, sql, -1, &s, nil), "prepare \(sql)")
            guard let s else { throw .internalFailure("prepare returned no statement") }
            statements[sql] = s
            stmt = s
            remember(identity, sql, s)
        }
        defer {
            sqlite3_reset(stmt)
            sqlite3_clear_bindings(stmt)
        }
        for (i, arg) in args.enumerated() {
            let idx = Int32(i + 1)
            let rc: Int32
            switch arg {
            case .text(var s):
                // The explicit byte length keeps a NUL inside the string (a length of -1 would
                // stop at it, and a record's stored text would no longer be the text it hashed).
                rc = s.withUTF8 { b in
                    b.withMemoryRebound(to: CChar.self) { c in
                        guard let p = c.baseAddress else { return csqlite_bind_text_transient(stmt, idx, "", 0) }
                        return csqlite_bind_text_transient(stmt, idx, p, Int32(c.count))
                    }
                }
            case .int(let v):
                rc = sqlite3_bind_int64(stmt, idx, v)
            case .real(let v):
                rc = sqlite3_bind_double(stmt, idx, v)
            case .null:
                rc = sqlite3_bind_null(stmt, idx)
            }
            try check(rc, "bind")
        }
        while true {
            let rc = sqlite3_step(stmt)
            if rc == SQLITE_DONE { return try syncCommitted() }
            guard rc == SQLITE_ROW else {
                try check(rc, sql)
                return
            }
            try row(Row(stmt: stmt))
        }
    }

    public var changes: Int { Int(sqlite3_changes(handle)) }
}

struct Row: SQLRow {
    let stmt: OpaquePointer
    func text(_ i: Int32) -> String {
        guard let p = sqlite3_column_text(stmt, i) else { return "" }
        // By byte count, not up to the first NUL (see `query`'s binding).
        return String(decoding: UnsafeBufferPointer(start: p, count: Int(sqlite3_column_bytes(stmt, i))), as: UTF8.self)
    }
    func int(_ i: Int32) -> Int64 { sqlite3_column_int64(stmt, i) }
    func real(_ i: Int32) -> Double { sqlite3_column_double(stmt, i) }
    func isNull(_ i: Int32) -> Bool { sqlite3_column_type(stmt, i) == SQLITE_NULL }
}
