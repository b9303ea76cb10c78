import Metrics

/// `GET /admin/metrics`: the Prometheus text `/metrics` answers, for a signed caller (the
/// dashboard's way in, from anywhere the admin API is reachable).
extension AdminAPI {
    static let metricsRoutes: [Route] = [
        Route("GET", "metrics", "admin:GetMetrics", .gateway) { r, _, ctx throws(AdminError) in
            guard let metrics = ctx.metrics else {
                throw AdminError.notFound("metrics are disabled ([metrics] enabled = false)")
            }
            return AdminResponse(
                body: Array(metrics.exposition(ctx, now: r.now).utf8),
                headers: [("Content-Type", Exposition.contentType), ("Cache-Control", "no-store")])
        }
    ]
}
