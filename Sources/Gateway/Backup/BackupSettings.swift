/// `[backup]`: continuous backup of the embedded SQLite metadata store to a bucket of a zone
/// (docs/METADATA.md, "Backup and restore (SQLite)").
public struct BackupSettings: Sendable, Equatable {
    /// The zone and the backend bucket in it that receive `databases/<installation>/…`.
    public var zone: String
    public var bucket: String
    /// Seconds between two looks at the WAL: new transactions are shipped at most this late.
    public var walInterval = 5.0
    /// Seconds between snapshots; each starts a new generation.
    public var snapshotInterval = 86400
    /// Seconds: any point in time this far back can be restored; older generations go.
    public var retention = 7 * 86400
    /// The WAL is checkpointed (by the backup alone) once it holds this many bytes.
    public var checkpointBytes = 4 << 20

    public init(zone: String, bucket: String) {
        self.zone = zone
        self.bucket = bucket
    }
}
