import GatewayCore

/// Leases over the agents of several hosts: a row of `agent_state` keyed `lease/<name>`, its
/// value the holder, its `updated_at` the end of the lease. One upsert decides (portable SQL:
/// SQLite and PostgreSQL both take `ON CONFLICT … DO UPDATE … WHERE`), so two agents asking at
/// once never both get it.
extension SQLMetadataStore {
    public func claimLease(_ name: String, owner: String, now: Double, until: Double) throws(StoreError) -> Bool {
        let key = "lease/" + name
        return try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) -> Bool in
                try db.query(
                    """
                    INSERT INTO agent_state (key, value, updated_at) VALUES (?, ?, ?)
                    ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
                    WHERE agent_state.value = excluded.value OR agent_state.updated_at <= ?
                    """, [.text(key), .text(owner), .real(until), .real(now)])
                var holder: String?
                try db.query("SELECT value FROM agent_state WHERE key = ?", [.text(key)]) { r in holder = r.text(0) }
                return holder == owner && until > now
            }
        }
    }
}
