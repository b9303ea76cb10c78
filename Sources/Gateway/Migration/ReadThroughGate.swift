import Synchronization

/// How many of a worker process's threads may wait for a run at once (read-through). A read
/// beyond it is told to slow down instead of taking another thread: a client reading thousands
/// of missing keys must not leave no thread for anything else.
public final class ReadThroughGate: Sendable {
    public let limit: Int
    private let waiting = Atomic<Int>(0)

    public init(limit: Int = 8) { self.limit = max(1, limit) }

    /// Runs `body` if a place is free; nil when all are taken.
    func admit<T>(_ body: () throws -> T) rethrows -> T? {
        guard waiting.add(1, ordering: .relaxed).newValue <= limit else {
            waiting.subtract(1, ordering: .relaxed)
            return nil
        }
        defer { waiting.subtract(1, ordering: .relaxed) }
        return try body()
    }

    /// Threads waiting now.
    public var count: Int { waiting.load(ordering: .relaxed) }
}
