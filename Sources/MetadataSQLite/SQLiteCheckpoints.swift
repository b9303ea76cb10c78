internal import CSQLite
import Synchronization

/// Who checkpoints the WAL. By default every connection does once the WAL passes 1000 pages;
/// with continuous backup on, the backup alone must (docs/METADATA.md, "Backup and restore"),
/// or a checkpoint and WAL restart could discard frames it has not shipped yet. The process
/// says so once, before its store opens a connection.
public enum SQLiteCheckpoints {
    private static let leftToBackup = Atomic<Bool>(false)

    public static func leaveToBackup() { leftToBackup.store(true, ordering: .releasing) }

    /// Applied to each new connection.
    static func configure(_ db: OpaquePointer) {
        if leftToBackup.load(ordering: .acquiring) { sqlite3_wal_autocheckpoint(db, 0) }
    }
}
