import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A bounded map for values that never go stale (derived from their key alone, or carrying
/// their own validity), in shards
/// picked by the calling thread: a worker's request threads would otherwise all take one lock
/// per request, and a shared lock was once the worker's hottest spot. Each shard fills itself,
/// so a value may be computed once per shard; a full shard is emptied.
///
/// Inlinable so that callers in other modules get it specialized for their key and value: a
/// GET looks up several of these, and the generic code took about 2,500 instructions per lookup
/// (type metadata and unspecialized hashing) where the specialized one takes a few hundred.
public final class ThreadShardedCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    @usableFromInline final class Shard: Sendable {
        @usableFromInline let entries = Mutex<[Key: Value]>([:])
        @usableFromInline init() {}
    }

    @usableFromInline let shards: [Shard]
    public let maxEntriesPerShard: Int

    public init(shardCount: Int = 16, maxEntriesPerShard: Int = 256) {
        shards = (0..<max(1, shardCount)).map { _ in Shard() }
        self.maxEntriesPerShard = max(1, maxEntriesPerShard)
    }

    @inlinable var shard: Shard {
        // Thread handles are addresses with zero low bits: mix before taking the top ones.
        let mixed = UInt64(UInt(bitPattern: Int(bitPattern: UInt(pthread_self())))) &* 0x9E37_79B9_7F4A_7C15
        return shards[Int(mixed >> 32) % shards.count]
    }

    /// The value held for `key`, or `make()`'s, which is then held.
    @inlinable public func value(for key: Key, _ make: () -> Value) -> Value {
        if let hit = lookup(key) { return hit }
        let made = make()
        insert(key, made)
        return made
    }

    /// The value held for `key` in this thread's shard, if any.
    @inlinable public func lookup(_ key: Key) -> Value? { shard.entries.withLock { $0[key] } }

    /// Holds `value` for `key` in this thread's shard (emptied first when full).
    @inlinable public func insert(_ key: Key, _ value: Value) {
        let limit = maxEntriesPerShard
        shard.entries.withLock { entries in
            if entries.count >= limit { entries.removeAll() }
            entries[key] = value
        }
    }

    /// Entries held, across shards.
    public var count: Int { shards.reduce(0) { total, shard in total + shard.entries.withLock { $0.count } } }
}
