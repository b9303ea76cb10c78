/// `[router]`: this installation is the global router (docs/ROUTER.md), not a gateway. It holds
/// routing data only and answers every S3 request with a 307 to the regional gateway.
public struct RouterSettings: Sendable, Equatable {
    /// `store`: the routing table's SQLite file; nil: `<state_dir>/router.sqlite`.
    public var store: String?
    /// `lookup`: whether `GET /.well-known/s3gw-route` tells anyone the endpoint of an access
    /// key or bucket they name (for clients that do not follow redirects).
    public var lookup = true

    public init() {}

    public func storePath(stateDir: String) -> String { store ?? stateDir + "/router.sqlite" }
}
