import GatewayCore

/// `GET /admin/oplog`: the operations log's records, filtered (bucket, tenant, operation,
/// since, errors), newest `limit` ones or those after a cursor (docs/OBSERVABILITY.md). It reads
/// the log's files on this host: every worker of a host writes to the same ones.
extension AdminAPI {
    static let oplogRoutes: [Route] = [
        Route("GET", "oplog", "admin:ReadOperationsLog", .gateway) { r, _, ctx throws(AdminError) in
            let query: OplogQuery
            do throws(OplogQuery.Invalid) {
                query = try OplogQuery(parameters: r.query, now: r.now)
            } catch {
                throw .invalid(error.message)
            }
            guard !ctx.oplog.path.isEmpty else { return .json(OplogPage(records: [], next: nil)) }
            do {
                return .json(try OplogReader.read(ctx.oplog, query))
            } catch {
                ctx.logger.error("reading the operations log \(ctx.oplog.path): \(error)")
                throw .internalError
            }
        }
    ]
}
