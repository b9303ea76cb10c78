import Foundation
import GatewayCore

/// The JSON API under `/api/` that the web UI and `s3gw snapshots|migrate` use: discovery and
/// migration (docs/DISCOVERY.md, docs/web-api.yaml). Same requests as the admin API —
/// `AdminRequest` in, `AdminResponse` out, one route table, SigV4-signed with the body's hash
/// covered — with three differences: temporary credentials are welcome (the UI may hold STS
/// ones), a route may accept presigned URLs (downloads), and errors are
/// `{"error": {"code", "message"}}`.
public enum WebAPI {
    public typealias Route = AdminAPI.Route

    /// Every route; each area adds its own list (`WebAPIRoutes+Discovery.swift`…): adding an
    /// area is one `+ list` here.
    static let routes: [Route] = discoveryRoutes + migrationRoutes

    static let table = RouteTable(routes: routes, root: "api")

    /// Every permission name of the web API, for validating permission sets.
    public static var actions: Set<String> { Set(routes.map(\.action)) }

    public static func dispatch(_ r: AdminRequest, _ ctx: GatewayContext) -> AdminResponse {
        table.dispatch(r, ctx) { errorBody($0) }
    }

    /// `{"error": {"code": …, "message": …}}`.
    static func errorBody(_ e: AdminError) -> [UInt8] {
        let encoder = AdminJSON.encoder
        // Messages name endpoints; "https:\/\/" would only puzzle whoever reads them.
        encoder.outputFormatting.insert(.withoutEscapingSlashes)
        return Array((try? encoder.encode(["error": ["code": e.code, "message": e.message]])) ?? Data())
    }

    /// `/api` and everything under it belongs to this API when addressed path-style (CreateBucket
    /// refuses the name `api`); a virtual-hosted request for a key `api/…` is S3's.
    public static func owns(_ rawPath: String, virtualHosted: Bool) -> Bool {
        !virtualHosted && (rawPath == "/api" || rawPath.hasPrefix("/api/") || rawPath.hasPrefix("/api?"))
    }

    /// The bucket name this API's path shadows.
    public static let reservedBucketName = "api"

    /// Buckets named `api` made before this API reserved the name (qualified: `tenant/api`
    /// beyond the default tenant). Path-style requests to them reach this API now; virtual-hosted
    /// ones still reach the bucket. The agent names them in a warning when it starts.
    public static func shadowedBuckets(_ ctx: GatewayContext) throws(StoreError) -> [String] {
        // The default tenant's first: its buckets are older than tenants, whatever the table says.
        var found = try ctx.metadata.bucket(named: reservedBucketName) != nil ? [reservedBucketName] : []
        var after = ""
        while true {
            let tenants = try ctx.identities.store.tenants(after: after, limit: 1000)
            for t in tenants where t.id != TenantRecord.defaultID {
                let name = TenantRecord.qualifiedBucket(tenant: t.id, name: reservedBucketName)
                if try ctx.metadata.bucket(named: name) != nil { found.append(name) }
            }
            guard tenants.count == 1000, let last = tenants.last else { return found }
            after = last.id
        }
    }
}
