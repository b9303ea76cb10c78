import Gateway
import GatewayCore
import MetadataPostgres
import MetadataSQL
import MetadataSQLite

/// The one place that opens the metadata store `[metadata]` names (docs/METADATA.md): the
/// supervisor, the workers, the agent and the admin commands all come here.
enum MetadataStores {
    /// `readOnly`: opened for reading only (`s3gw audit verify`); `audits`: whether changes append
    /// their audit record (`[audit] enabled`).
    static func open(_ config: GatewayConfig, readOnly: Bool = false, audits: Bool = true) throws -> SQLMetadataStore {
        switch config.metadata.kind {
        case .sqlite:
            // With [backup] on, no connection but the backup's own checkpoints the WAL, in any
            // process (docs/METADATA.md, "How the live database is kept safe").
            try SQLMetadataStore(
                sqlitePath: config.metadataPath, readOnly: readOnly, audits: audits, checkpoints: config.backup == nil,
                bucketCache: config.metadata.bucketCache)
        case .postgres:
            try SQLMetadataStore(postgres: config.metadata.url, readOnly: readOnly, audits: audits)
        }
    }
}
