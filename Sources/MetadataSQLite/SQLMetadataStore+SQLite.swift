import GatewayCore
import MetadataSQL

extension SQLMetadataStore {
    /// The embedded store: one SQLite file in WAL mode shared by every worker process, one
    /// connection per thread. `readOnly`: opened for reading only (`s3gw audit verify`): no
    /// migration, no write, not even the journal mode.
    public convenience init(sqlitePath path: String, readOnly: Bool = false, audits: Bool = true) throws(StoreError) {
        try self.init(readOnly: readOnly, audits: audits) { () throws(StoreError) -> any SQLConnection in
            try SQLiteConnection(path: path, readOnly: readOnly)
        }
    }
}
