import GatewayCore

/// `[migration]` in the configuration.
public struct MigrationSettings: Sendable, Equatable {
    /// What a plan's time estimate assumes the link to the source carries, in Mbit/s.
    public var bandwidthMbps: Double = 100

    public init(bandwidthMbps: Double = 100) { self.bandwidthMbps = bandwidthMbps }
}
