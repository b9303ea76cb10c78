import GatewayCore
import Synchronization

/// Keys a run said its source lacks, remembered by a worker process for `ttl` seconds: a
/// client asking again and again for a key that exists nowhere (or a scanner probing names) in
/// a bucket read through costs one GetObject at the source, not one per request. Bounded: when
/// full, the expired entries go, and if none has expired, all of them.
public final class ReadThroughAbsentKeys: Sendable {
    public let ttl: Double
    public let capacity: Int
    /// "run\0bucket\0key" → until when it is known absent.
    private let keys = Mutex<[String: Double]>([:])

    public init(ttl: Double = 30, capacity: Int = 10_000) {
        self.ttl = ttl
        self.capacity = max(1, capacity)
    }

    private static func name(_ route: ReadThroughRoute, _ key: String) -> String {
        route.runId + "\u{0}" + route.bucket + "\u{0}" + key
    }

    func contains(_ route: ReadThroughRoute, key: String, now: Double) -> Bool {
        keys.withLock { k in
            let name = Self.name(route, key)
            guard let until = k[name] else { return false }
            if until > now { return true }
            k[name] = nil
            return false
        }
    }

    func insert(_ route: ReadThroughRoute, key: String, now: Double) {
        keys.withLock { k in
            if k.count >= capacity {
                k = k.filter { $0.value > now }
                if k.count >= capacity { k.removeAll(keepingCapacity: true) }
            }
            k[Self.name(route, key)] = now + ttl
        }
    }

    public var count: Int { keys.withLock { $0.count } }
}
