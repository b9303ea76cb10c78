import GatewayCore
import MetadataSQL

extension SQLMetadataStore {
    /// The embedded store: one SQLite file in WAL mode shared by every worker process, one
    /// connection per thread. `readOnly`: opened for reading only (`s3gw audit verify`): no
    /// migration, no write, not even the journal mode. `checkpoints`: whether its connections
    /// checkpoint the WAL (false with continuous backup on: `SQLiteConnection`). `bucketCache`:
    /// bucket records cached against the host's bucket generation, which every connection to
    /// this file advances after changing a bucket row (`SQLiteConnection`), whatever its own
    /// setting.
    public convenience init(
        sqlitePath path: String, readOnly: Bool = false, audits: Bool = true, checkpoints: Bool = true,
        bucketCache: Bool = true
    )
        throws(StoreError)
    {
        // The generation's file is found as the connections find it: by the database's real
        // name, whatever spelling or symlink `path` is.
        let generation =
            readOnly || !bucketCache
            ? nil : try SQLiteConnection(path: path, checkpoints: checkpoints).bucketGeneration()
        try self.init(readOnly: readOnly, audits: audits, bucketGeneration: generation) {
            () throws(StoreError) -> any SQLConnection in
            try SQLiteConnection(path: path, readOnly: readOnly, checkpoints: checkpoints)
        }
    }
}
