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

    /// Permission names with routes still to come, valid in permission sets already so that
    /// administrators can grant them ahead (docs/DISCOVERY.md lists them).
    static let reservedActions: Set<String> = []

    /// Every permission name of the web API, for validating permission sets.
    public static var actions: Set<String> { Set(routes.map(\.action)).union(reservedActions) }

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
}
