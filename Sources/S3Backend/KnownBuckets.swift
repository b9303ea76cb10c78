import Foundation

/// A small shared set, safe across worker threads.
final class KnownBuckets: @unchecked Sendable {
    private var names = Set<String>()
    private let lock = NSLock()

    func contains(_ n: String) -> Bool { lock.withLock { names.contains(n) } }
    func insert(_ n: String) { _ = lock.withLock { names.insert(n) } }
    func remove(_ n: String) { _ = lock.withLock { names.remove(n) } }
}
