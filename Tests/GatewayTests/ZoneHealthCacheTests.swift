import Foundation
import GatewayCore
import GatewayTesting
import Synchronization
import XCTest

@testable import Gateway

/// The read path's view of which zones are down: the health checker's record, at most `ttl`
/// seconds old in every request thread (each thread's shard holds its own copy).
final class ZoneHealthCacheTests: XCTestCase {
    final class ManualClock: Clock {
        let t = Mutex(100.0)
        func now() -> Double { t.withLock { $0 } }
        func advance(_ s: Double) { t.withLock { $0 += s } }
    }

    private func record(_ store: InMemoryMetadataStore, _ zone: String, _ state: ZoneHealth.State) throws {
        try store.recordZoneHealth(
            ZoneHealth(zone: zone, state: state, lastError: "", latency: 0, checkedAt: 0, consecutiveFailures: 0))
    }

    /// The downZones seen by `threads` threads at once (each on its own thread, so several shards).
    private func fromThreads(_ cache: ZoneHealthCache, threads: Int = 8) -> [Set<String>] {
        let seen = Mutex<[Set<String>]>([])
        let group = DispatchGroup()
        for _ in 0..<threads {
            group.enter()
            Thread {
                let down = cache.downZones()
                seen.withLock { $0.append(down) }
                group.leave()
            }.start()
        }
        group.wait()
        return seen.withLock { $0 }
    }

    func testAChangeIsSeenByEveryThreadWithinTheTTLAndNotBefore() throws {
        let store = InMemoryMetadataStore()
        let clock = ManualClock()
        let cache = ZoneHealthCache(metadata: store, clock: clock, ttl: 2)
        try record(store, "zone-a", .down)
        try record(store, "zone-b", .degraded)
        XCTAssertEqual(Set(fromThreads(cache)), [["zone-a"]], "degraded is not down")
        XCTAssertTrue(cache.isDown("zone-a"))

        try record(store, "zone-a", .healthy)
        clock.advance(1.5)
        XCTAssertTrue(cache.isDown("zone-a"), "within the TTL this thread's copy answers")
        clock.advance(0.5)
        XCTAssertEqual(Set(fromThreads(cache)), [[]], "past the TTL every thread reads the record again")
        XCTAssertFalse(cache.isDown("zone-a"))
    }
}
