import MetadataSQL

/// Takes a database back to before a migration, so a test can open it as a gateway of an older
/// version left it.
enum MigrationUndo {
    /// Before migration 22 (access control, CORS and encryption settings, kms_keys).
    static func undo22(_ db: any SQLConnection) throws {
        for column in ["policy", "acl", "ownership", "public_access_block", "cors", "encryption"] {
            try db.exec("ALTER TABLE buckets DROP COLUMN \(column)")
        }
        for table in ["objects", "object_versions", "uploads"] {
            for column in ["owner", "acl", "sse"] { try db.exec("ALTER TABLE \(table) DROP COLUMN \(column)") }
        }
        try db.exec("ALTER TABLE uploads DROP COLUMN initiator")
        try db.exec("DROP TABLE kms_keys")
        try db.exec("DELETE FROM schema_migrations WHERE version >= 22")
    }

    /// Before migration 20 (versioning).
    static func undo20(_ db: any SQLConnection) throws {
        try undo22(db)
        try db.exec("DROP INDEX IF EXISTS object_versions_by_id")
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
