import GatewayCore

extension SQLMetadataStore {
    public func deferJob(id: Int64, owner: String, until: Double) throws(StoreError) {
        try withConnection { db throws(StoreError) in
            // The claim counted an attempt; a deferral is none.
            try db.query(
                """
                UPDATE jobs SET state = 'pending', not_before = ?, attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END,
                    lease_owner = '',
                    lease_until = 0, last_error = ?
                WHERE id = ? AND lease_owner = ? AND state = 'running'
                """, [.real(until), .text(ReplicationJob.deferredNote), .int(id), .text(owner)])
        }
    }
}
