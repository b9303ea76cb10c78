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
/// A failed sync ends the process (`failed`), as PostgreSQL panics on a failed fsync: the commit
/// is already visible, and a request answered with an error would clean up after it (remove the
/// blob its new row names); after a failed sync the kernel may also have dropped the pages and
/// cleared the error, so no later sync can be trusted to tell. The process is restarted and
/// SQLite recovers from what is on the disk.
///
/// The hook replaces SQLite's own, which ran the automatic checkpoint: a connection that
/// checkpoints runs it here the same way (passive, once the log holds `autocheckpointPages`).
/// Nothing may set `PRAGMA wal_autocheckpoint` on these connections: it would replace the hook.
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

    /// Held weakly: a group, and its descriptor on the log, lives as long as a connection of
    /// this process uses it (a process that opened many databases, as tests do, keeps none).
    private struct Held { weak var group: GroupSync? }
    private static let groups = Mutex<[String: Held]>([:])

    /// The group of the log at `wal` (SQLite's own name for it: a symlinked database has its
    /// log beside the real file) in this process; the caller keeps it.
    static func group(wal: String) -> GroupSync {
        groups.withLock { groups in
            if let group = groups[wal]?.group { return group }
            let log = WALFile(path: wal)
            let group = GroupSync(what: "fdatasync \(wal)") { log.sync() }
            groups = groups.filter { $0.value.group != nil }
            groups[wal] = Held(group: group)
            return group
        }
    }

    /// What a failed sync does: end the process (see above); tests put a recorder here.
    nonisolated(unsafe) static var failed: (StoreError) -> Void = { error in
        let line = "s3gw: the metadata log could not be made durable, stopping: \(error)\n"
        _ = line.withCString { write(STDERR_FILENO, $0, strlen($0)) }
        abort()
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

/// The log, on one descriptor kept open: the kernel reports a write-back error to every
/// descriptor open when it happened, so one that another process's sync saw first is still
/// reported here (a descriptor opened afresh for each sync would miss it). Opened again when
/// the path names another file (SQLite removes the log when its last connection closes).
private final class WALFile: @unchecked Sendable {
    let path: String
    private var fd: Int32 = -1
    private var inode: UInt64 = 0

    init(path: String) { self.path = path }

    deinit { if fd >= 0 { close(fd) } }

    /// 0 or an errno; called by one thread at a time (the group's leader).
    func sync() -> Int32 {
        var st = stat()
        guard retrying({ stat(path, &st) }) == 0 else { return errno }
        if fd < 0 || UInt64(st.st_ino) != inode {
            if fd >= 0 { close(fd) }
            fd = retrying { open(path, O_RDONLY | O_CLOEXEC) }
            guard fd >= 0 else { return errno }
            var opened = stat()
            guard fstat(fd, &opened) == 0 else { return errno }
            inode = UInt64(opened.st_ino)
        }
        return retrying({ fdatasync(fd) }) == 0 ? 0 : errno
    }

    private func retrying(_ call: () -> Int32) -> Int32 {
        while true {
            let r = call()
            if r != -1 || errno != EINTR { return r }
        }
    }
}
