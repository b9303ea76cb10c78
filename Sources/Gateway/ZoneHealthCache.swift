import GatewayCore

/// What the agent's health checker last recorded, re-read at most every few seconds so the
/// read path does not query the metadata store for it on every request.
///
/// Every GET asks, from every request thread: one shared lock here was once the worker's most
/// contended spot (most of its futex calls under load), so each thread's shard keeps its own
/// copy, re-read once per `ttl` per shard.
final class ZoneHealthCache: Sendable {
    private struct Snapshot: Sendable {
        let at: Double
        let down: Set<String>
    }

    private let metadata: any MetadataStore
    private let clock: any Clock
    private let ttl: Double
    private let snapshots = ThreadShardedCache<Int, Snapshot>(maxEntriesPerShard: 1)

    init(metadata: any MetadataStore, clock: any Clock, ttl: Double = 2) {
        self.metadata = metadata
        self.clock = clock
        self.ttl = ttl
    }

    func isDown(_ zone: String) -> Bool { downZones().contains(zone) }

    func downZones() -> Set<String> {
        let now = clock.now()
        if let held = snapshots.lookup(0), now - held.at < ttl { return held.down }
        let down = Set(((try? metadata.zoneHealth()) ?? []).filter { $0.state == .down }.map(\.zone))
        snapshots.insert(0, Snapshot(at: now, down: down))
        return down
    }
}
