import Foundation
import GatewayCore
import Metrics
import SigV4

/// `/metrics`, `/healthz` and `/readyz`: for Prometheus and load balancers, unsigned, answered
/// before S3 addressing (path-style only; a virtual-hosted `metrics` key is an S3 request). They
/// are not requests of the gateway's APIs: no trace, so neither counted in `s3gw_requests_total`
/// nor in the operations log (a scrape every few seconds and a probe every second would drown
/// the clients' requests there).
extension S3Gateway {
    enum Probe: String {
        case metrics = "/metrics"
        case healthz = "/healthz"
        case readyz = "/readyz"

        /// The probe a path-style request's path names (a query is ignored).
        /// `rawPath`: the request's path without its query (`RequestHead.rawPath`).
        init?(_ rawPath: String, virtualHosted: Bool) {
            guard !virtualHosted else { return nil }
            self.init(rawValue: rawPath)
        }

        /// The bucket names these paths shadow.
        static let reservedBucketNames: Set<String> = ["metrics", "healthz", "readyz"]
    }

    func answer(
        _ probe: Probe, _ head: RequestHead, params: [String: String], body: any ByteSource, requestId: String,
        to sink: any ResponseSink
    ) {
        var response: S3Response
        if head.method != "GET" && head.method != "HEAD" {
            response = Self.text(405, "Only GET and HEAD are allowed here.\n")
            response.headers.append(Header("Allow", "GET, HEAD"))
        } else {
            switch probe {
            case .healthz:
                response = Self.json(200, Array(#"{"status":"ok"}"#.utf8))
            case .readyz:
                let r = Readiness.check(ctx.catalog, ctx.metadata)
                response = Self.json(r.ready ? 200 : 503, Array((try? AdminJSON.encoder.encode(r)) ?? Data()))
            case .metrics:
                response = metricsAnswer(head, remoteAddress: params["REMOTE_ADDR"] ?? "")
            }
        }
        response.headers.append(Header("Cache-Control", "no-store"))
        _ = try? send(response, head: head, requestId: requestId, to: sink)
        // A body nobody reads (a POST refused with 405) is drained, as serve() does after an
        // early error, so nginx can deliver the answer instead of a reset.
        drain(body, limit: 1 << 20)
    }

    private func metricsAnswer(_ head: RequestHead, remoteAddress: String) -> S3Response {
        guard let metrics = ctx.metrics else { return Self.text(404, "Metrics are disabled ([metrics] enabled).\n") }
        // nginx lets a signed /metrics through from any address (a signed request is never a
        // scrape; it may be S3 virtual-hosted, which only the gateway can tell): refusing every
        // signed path-style /metrics here keeps the two rules the same, whatever the signature.
        guard !Self.isSigned(head) else {
            return Self.text(403, "A scrape is unsigned: no Authorization, no presigned signature.\n")
        }
        guard metrics.settings.allows(remoteAddress) else {
            return Self.text(403, "This address may not read the metrics ([metrics] allow).\n")
        }
        return S3Response(
            status: 200, headers: [Header("Content-Type", Exposition.contentType)],
            body: .bytes(Array(metrics.exposition(ctx, now: ctx.clock.now()).utf8)))
    }

    /// Carries an Authorization header or a presigned `X-Amz-Signature` / `Signature` (the
    /// names nginx's `$s3gw_presigned` matches, case-insensitively).
    static func isSigned(_ head: RequestHead) -> Bool {
        if head.header("authorization") != nil { return true }
        return head.queryItems.contains {
            let name = $0.name.lowercased()
            return name == "x-amz-signature" || name == "signature"
        }
    }

    private static func text(_ status: Int, _ message: String) -> S3Response {
        S3Response(
            status: status, headers: [Header("Content-Type", "text/plain; charset=utf-8")],
            body: .bytes(Array(message.utf8)))
    }

    static func json(_ status: Int, _ body: [UInt8]) -> S3Response {
        S3Response(status: status, headers: [Header("Content-Type", "application/json")], body: .bytes(body))
    }
}
