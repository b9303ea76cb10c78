internal import CSQLite
import GatewayCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Every commit made durable before its request is answered, in groups (one per connection).
///
/// With `synchronous=NORMAL` a WAL-mode commit is written to the log but not synced: a power
/// loss (not a crash of the process) may roll back transactions whose clients already had
/// their answer. `synchronous=FULL` syncs the log at every commit, which cost a quarter of the
/// 4 KiB PUT rate (2,423 → 1,794 req/s). The log is one file appended in order, so one
/// `fdatasync` of it covers every commit before it: each connection's WAL hook (run by SQLite
/// after a commit, before the statement returns) marks the commit, and the connection waits on
/// this database's `GroupSync` before the statement or transaction returns (`SQLiteConnection
/// .syncCommitted`, once its writer gate is let go); concurrent commits share one sync.
///
/// The hook replaces SQLite's own, which ran the automatic checkpoint: a connection that
/// checkpoints runs it here the same way (passive, once the log holds `autocheckpointPages`).
final class SQLiteWALSync: @unchecked Sendable {
    let group: GroupSync
    let checkpoints: Bool
    /// A commit happened that no sync has covered yet (the connection's thread alone).
    var pending = false
    /// A row of `buckets` changed since the last commit's sync: the host's bucket generation is
    /// advanced once it committed (`BucketRecordCache`).
    var bucketsChanged = false

    /// SQLite's default automatic checkpoint threshold.
    static let autocheckpointPages: Int32 = 1000

    private init(group: GroupSync, checkpoints: Bool) {
        self.group = group
        self.checkpoints = checkpoints
    }

    private static let groups = Mutex<[String: GroupSync]>([:])

    /// The group of the database at `path` in this process: its log opened for each sync, so a
    /// log that SQLite removed and made again (its last connection closed) is the one synced.
    static func group(_ path: String) -> GroupSync {
        groups.withLock { groups in
            if let group = groups[path] { return group }
            let wal = path + "-wal"
            let group = GroupSync(what: "fdatasync \(wal)") {
                let fd = open(wal, O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { return errno }
                defer { close(fd) }
                return fdatasync(fd) == 0 ? 0 : errno
            }
            groups[path] = group
            return group
        }
    }

    /// Installs the hook on `db`; the returned object must live as long as the connection.
    static func install(_ db: OpaquePointer, group: GroupSync, checkpoints: Bool) -> SQLiteWALSync {
        let sync = SQLiteWALSync(group: group, checkpoints: checkpoints)
        let context = Unmanaged.passUnretained(sync).toOpaque()
        sqlite3_wal_hook(db, walHook, context)
        sqlite3_update_hook(db, updateHook, context)
        return sync
    }

    /// After a commit: marked for the sync, then the automatic checkpoint if due.
    fileprivate func committed(_ db: OpaquePointer?, _ name: UnsafePointer<CChar>?, pages: Int32) -> Int32 {
        pending = true
        if checkpoints && pages >= Self.autocheckpointPages {
            _ = sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
        }
        return SQLITE_OK
    }
}

private func walHook(
    _ context: UnsafeMutableRawPointer?, _ db: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ pages: Int32
) -> Int32 {
    guard let context else { return SQLITE_OK }
    return Unmanaged<SQLiteWALSync>.fromOpaque(context).takeUnretainedValue().committed(db, name, pages: pages)
}

/// Any change to a row of `buckets` (rowid tables only, which it is), before its commit.
private func updateHook(
    _ context: UnsafeMutableRawPointer?, _ operation: Int32, _ database: UnsafePointer<CChar>?,
    _ table: UnsafePointer<CChar>?, _ rowid: sqlite3_int64
) {
    guard let context, let table, strcmp(table, "buckets") == 0 else { return }
    Unmanaged<SQLiteWALSync>.fromOpaque(context).takeUnretainedValue().bucketsChanged = true
}
