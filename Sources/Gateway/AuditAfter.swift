import GatewayCore

/// Records of changes made outside the metadata store (a configuration file rewritten, blobs
/// removed from a zone, a migration started, a snapshot file deleted): there is no store
/// transaction to join, so the record is appended right after the effect — an "after the fact"
/// record (docs/OBSERVABILITY.md). The effect happened whatever the store answers: a record the
/// store refuses is logged as an error, never reported to the caller as a failed action.
enum AuditAfter {
    static func append(_ entry: AuditEntry, _ ctx: GatewayContext) {
        do {
            try ctx.metadata.appendAudit(entry)
        } catch {
            ctx.logger.error("audit: could not record \(entry.change) (after the fact): \(error)")
        }
    }
}
