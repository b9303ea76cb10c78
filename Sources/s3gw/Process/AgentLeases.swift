import Gateway
import GatewayCore

/// The agent's tasks that one agent of all hosts does at a time, each under its store lease
/// (docs/HOSTS.md). A lease outlasts the holder's pause between two runs of its task, so the
/// holder keeps it while alive; a holder killed loses it after `duration`.
struct Leases {
    let health: AgentLease
    let cleanup: AgentLease
    let lifecycle: AgentLease
    let scrub: AgentLease
    let orphans: AgentLease
    let history: AgentLease

    init(config: GatewayConfig, owner: String) {
        // A health check takes at most 30 s (`Maintenance.checkZones`).
        health = AgentLease("health", owner: owner, duration: 2 * Double(config.healthInterval) + 30)
        cleanup = AgentLease("cleanup", owner: owner, duration: 2 * Double(config.cleanupInterval))
        // Renewed at every step of a pass (at most a few seconds apart) and every second of the scrub.
        lifecycle = AgentLease("lifecycle", owner: owner, duration: 120)
        scrub = AgentLease("scrub", owner: owner, duration: 60)
        orphans = AgentLease("orphans", owner: owner, duration: 2 * config.replication.orphanInterval)
        // A sample's request totals are its host's counters: one host samples, so the
        // differences between samples stay its own (another takes over when it dies).
        history = AgentLease("metrics-history", owner: owner, duration: 3 * Double(config.metrics.historyInterval))
    }

    /// Another host's agent holds the lease: nothing to do here.
    struct HeldElsewhere: Error {}

    /// A clean stop gives every lease up, so another host's agent goes on at once.
    func release(_ store: any MetadataStore, now: Double) {
        for l in [health, cleanup, lifecycle, scrub, orphans, history] { l.release(store, now: now) }
    }
}
