@testable import MetadataSQLite

/// Takes a database back to before migration 20 (versioning), so a test can open it as a gateway
/// of an older version left it.
enum MigrationUndo {
    static func undo20(_ db: SQLiteConnection) throws {
        for column in ["versioning", "object_lock", "lifecycle"] {
            try db.exec("ALTER TABLE buckets DROP COLUMN \(column)")
        }
        for column in [
            "version_id", "version_seq", "delete_marker", "lock_mode", "retain_until", "legal_hold", "noncurrent_since",
        ] {
            try db.exec("ALTER TABLE objects DROP COLUMN \(column)")
        }
        try db.exec("DROP TABLE object_versions")
        try db.exec("ALTER TABLE uploads DROP COLUMN lock")
        try db.exec("DELETE FROM schema_migrations WHERE version >= 20")
    }
}
