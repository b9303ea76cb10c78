import GatewayCore
import MetadataSQL

extension SQLMetadataStore {
    /// The store on a PostgreSQL database shared by several hosts: one connection per thread,
    /// opened with `conninfo` (several hosts and `target_session_attrs=read-write` pass through
    /// libpq; the password comes from PGPASSFILE / ~/.pgpass). `readOnly`: every session is
    /// read-only (`s3gw audit verify`): no migration, no write.
    public convenience init(postgres conninfo: String, readOnly: Bool = false, audits: Bool = true)
        throws(StoreError)
    {
        try self.init(readOnly: readOnly, audits: audits) { () throws(StoreError) -> any SQLConnection in
            try PostgresConnection(conninfo: conninfo, readOnly: readOnly)
        }
    }
}
