import GatewayCore
import Synchronization

/// Bucket records by name, for the requests that only read them (every object request reads
/// its bucket's: 4 % of a 4 KiB PUT's instructions, and the join in a GET's one statement).
/// An entry holds while the host's bucket generation has not moved since the read that made it
/// (every process advances it after committing a change to a bucket row: `SQLiteConnection`),
/// and for `ttl` seconds at most, which bounds what a change made outside the gateway (an
/// operator's `sqlite3`) can leave stale.
final class BucketRecordCache: Sendable {
    private struct Entry: Sendable {
        let record: BucketRecord
        let generation: UInt64
        let fetched: Double
    }

    let generation: SharedGeneration
    let ttl: Double
    private let entries = ThreadShardedCache<String, Entry>(shardCount: 16, maxEntriesPerShard: 256)
    #if DEBUG
        /// Lookups answered from the cache (tests; not counted in release builds, where every
        /// request thread would meet at one counter).
        let hits = Atomic<Int>(0)
    #endif

    init(generation: SharedGeneration, ttl: Double = 10) {
        self.generation = generation
        self.ttl = ttl
    }

    /// The record held for `name`, if it is still good, with the generation it is good at.
    func lookup(_ name: String) -> (record: BucketRecord, generation: UInt64)? {
        let now = generation.current
        guard let e = entries.lookup(name), e.generation == now, monotonicSeconds() - e.fetched < ttl else {
            return nil
        }
        #if DEBUG
            hits.add(1, ordering: .relaxed)
        #endif
        return (e.record, now)
    }

    /// Holds `record`, read from the store after the generation was `generation` (read first: a
    /// change committed meanwhile has moved it, so the entry is stale at once, never kept).
    func insert(_ record: BucketRecord, readAt generation: UInt64) {
        entries.insert(record.name, Entry(record: record, generation: generation, fetched: monotonicSeconds()))
    }
}
