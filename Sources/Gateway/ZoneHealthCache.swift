import GatewayCore
import Synchronization

/// What the agent's health checker last recorded, re-read at most every few seconds so the
/// read path does not query the metadata store for it on every request.
final class ZoneHealthCache: Sendable {
    private let metadata: any MetadataStore
    private let clock: any Clock
    private let ttl: Double
    private let cached = Mutex<(at: Double, down: Set<String>)>((-.infinity, []))

    init(metadata: any MetadataStore, clock: any Clock, ttl: Double = 2) {
        self.metadata = metadata
        self.clock = clock
        self.ttl = ttl
    }

    func isDown(_ zone: String) -> Bool { downZones().contains(zone) }

    func downZones() -> Set<String> {
        let now = clock.now()
        if let fresh = cached.withLock({ now - $0.at < ttl ? $0.down : nil }) { return fresh }
        let down = Set(((try? metadata.zoneHealth()) ?? []).filter { $0.state == .down }.map(\.zone))
        cached.withLock { $0 = (now, down) }
        return down
    }
}
