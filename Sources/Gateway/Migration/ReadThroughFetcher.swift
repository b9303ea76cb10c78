import GatewayCore

/// How a worker reaches the run that serves a bucket's missing keys.
public protocol ReadThroughFetcher: Sendable {
    func fetch(_ route: ReadThroughRoute, key: String) -> ReadThroughAnswer
}
