internal import CSQLite
import GatewayCore

#if canImport(Glibc)
    import Glibc
#endif

/// A consistent copy of a live database through SQLite's online backup API
/// (https://www.sqlite.org/c3ref/backup_finish.html), read inside the source connection's open
/// read transaction, so the copy is exactly that transaction's snapshot while writers go on.
enum SQLiteSnapshot {
    /// Copies `source` (which has a read transaction open) into a new file at `path`; returns
    /// the number of pages copied.
    static func copy(from source: SQLiteConnection, to path: String) throws(StoreError) -> Int {
        unlink(path)
        var dest: OpaquePointer?
        guard sqlite3_open_v2(path, &dest, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nil) == SQLITE_OK, let dest
        else {
            if let dest { sqlite3_close_v2(dest) }
            throw .internalFailure("snapshot: cannot create \(path)")
        }
        defer { sqlite3_close_v2(dest) }
        guard let backup = sqlite3_backup_init(dest, "main", source.handle, "main") else {
            throw .internalFailure("snapshot: \(String(cString: sqlite3_errmsg(dest)))")
        }
        var rc: Int32
        repeat {
            // Steps of 1024 pages; the source's own read transaction holds the snapshot between them.
            rc = sqlite3_backup_step(backup, 1024)
            if rc == SQLITE_BUSY || rc == SQLITE_LOCKED { usleep(20_000) }
        } while rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED
        let pages = Int(sqlite3_backup_pagecount(backup))
        let finish = sqlite3_backup_finish(backup)
        guard rc == SQLITE_DONE, finish == SQLITE_OK else {
            throw .internalFailure(
                "snapshot: backup step \(rc), finish \(finish): \(String(cString: sqlite3_errmsg(dest)))")
        }
        return pages
    }
}
