import GatewayCore

/// A task only one agent of all hosts does at a time (the zone probes, the upload expiry, the
/// lifecycle pass, the scrub, the orphan sweep): whoever holds the store's lease for it. The
/// holder renews it each time it starts the task; an agent that dies (its host killed) stops
/// renewing, and another host's agent takes it over once `duration` has passed.
public struct AgentLease: Sendable {
    public let name: String
    public let owner: String
    public let duration: Double

    /// `owner`: this agent (`<host id>:<pid>`).
    public init(_ name: String, owner: String, duration: Double) {
        self.name = name
        self.owner = owner
        self.duration = max(1, duration)
    }

    /// Takes or renews the lease; false while another live agent holds it. A store that
    /// cannot be asked counts as held elsewhere: doing the task twice is what the lease prevents.
    public func hold(_ store: any MetadataStore, now: Double) -> Bool {
        (try? store.claimLease(name, owner: owner, now: now, until: now + duration)) ?? false
    }

    /// Gives the lease up (a clean stop): another agent takes it at once, not after `duration`.
    public func release(_ store: any MetadataStore, now: Double) {
        _ = try? store.claimLease(name, owner: owner, now: now, until: now)
    }
}
