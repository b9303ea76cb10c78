import Foundation
import GatewayCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A process's sign of life, kept in the metadata store (the agent's notes, keyed
/// `heartbeat/<role>/<host>:<pid>`) so every host's agents and workers show in the admin API's
/// `/admin/agents` and `/admin/workers`, whichever worker answers. Written every few seconds by
/// `HeartbeatWriter`; a process whose last beat is older than `aliveWithin` is taken for dead.
public struct Heartbeat: Codable, Sendable, Equatable {
    public enum Role: String, Codable, Sendable { case agent, worker }

    /// What the process is doing and since when.
    public struct Task: Codable, Sendable, Equatable {
        public var name: String
        public var since: Double
        public init(name: String, since: Double) {
            self.name = name
            self.since = since
        }
    }

    public var role: Role
    public var host: String
    public var pid: Int
    public var startedAt: Double
    public var beatAt: Double
    public var tasks: [Task]
    /// Workers: requests answered since the process started, and per second since the beat
    /// before; requests being answered now.
    public var requestsServed: Int
    public var requestsPerSecond: Double
    public var inFlight: Int

    public init(
        role: Role, host: String, pid: Int, startedAt: Double, beatAt: Double, tasks: [Task] = [],
        requestsServed: Int = 0, requestsPerSecond: Double = 0, inFlight: Int = 0
    ) {
        self.role = role
        self.host = host
        self.pid = pid
        self.startedAt = startedAt
        self.beatAt = beatAt
        self.tasks = tasks
        self.requestsServed = requestsServed
        self.requestsPerSecond = requestsPerSecond
        self.inFlight = inFlight
    }

    /// Seconds between beats.
    public static let interval: Double = 5
    /// Three beats missed: dead (or stopped, or cut off from the metadata store).
    public static let aliveWithin: Double = 3 * interval
    /// Rows of processes gone this long are removed (by the agent): a crash stays visible a while.
    public static let forgetAfter: Double = 3600

    public func isAlive(now: Double) -> Bool { now - beatAt < Self.aliveWithin }

    /// The lease owner prefix the process's replication jobs carry (`Replicator.owner`).
    public var leasePrefix: String { "\(host):\(pid):" }

    static let prefix = "heartbeat/"
    var key: String { "\(Self.prefix)\(role.rawValue)/\(host):\(pid)" }

    public func record(_ metadata: any MetadataStore) throws(StoreError) {
        let json = (try? JSONEncoder().encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        try metadata.setAgentState(key, json)
    }

    public func remove(_ metadata: any MetadataStore) throws(StoreError) {
        try metadata.setAgentState(key, nil)
    }

    /// Every recorded process of `role`, by host and pid. Rows that do not decode are skipped.
    public static func all(_ role: Role, _ metadata: any MetadataStore) throws(StoreError) -> [Heartbeat] {
        try metadata.agentStates(prefix: prefix + role.rawValue + "/").compactMap {
            try? JSONDecoder().decode(Heartbeat.self, from: Data($0.value.utf8))
        }
    }

    /// Removes the rows of processes whose last beat is older than `forgetAfter`.
    static func forgetDead(_ metadata: any MetadataStore, now: Double) throws(StoreError) {
        for role in [Role.agent, .worker] {
            for h in try all(role, metadata) where now - h.beatAt > forgetAfter { try h.remove(metadata) }
        }
    }
}

/// What a process is doing, slot by slot (the agent's main loop, its scrub, its orphan sweep):
/// set and cleared by the threads doing it, read by the heartbeat.
public final class Activity: Sendable {
    private let tasks = Mutex<[String: Heartbeat.Task]>([:])
    private let clock: any Clock

    public init(clock: any Clock) { self.clock = clock }

    public func begin(_ slot: String, _ name: String) {
        let t = Heartbeat.Task(name: name, since: clock.now())
        tasks.withLock { $0[slot] = t }
    }

    public func end(_ slot: String) { _ = tasks.withLock { $0.removeValue(forKey: slot) } }

    /// Runs `body` as the slot's task.
    public func doing<T>(_ slot: String, _ name: String, _ body: () throws -> T) rethrows -> T {
        begin(slot, name)
        defer { end(slot) }
        return try body()
    }

    public var current: [Heartbeat.Task] {
        tasks.withLock { $0.sorted { $0.key < $1.key }.map(\.value) }
    }
}

/// Writes this process's heartbeat every `Heartbeat.interval` seconds on a thread of its own (a
/// store write every few seconds, nothing on the request path but the caller's counter), and
/// removes it when stopped. The agent's writer also forgets long-dead processes.
public final class HeartbeatWriter: Sendable {
    public struct Snapshot: Sendable {
        public var tasks: [Heartbeat.Task]
        public var served: Int
        public var inFlight: Int
        public init(tasks: [Heartbeat.Task] = [], served: Int = 0, inFlight: Int = 0) {
            self.tasks = tasks
            self.served = served
            self.inFlight = inFlight
        }
    }

    private let metadata: any MetadataStore
    private let clock: any Clock
    private let snapshot: @Sendable () -> Snapshot
    private let stopping = Atomic<Bool>(false)
    private let state: Mutex<(heartbeat: Heartbeat, stopped: Bool)>

    public init(
        role: Heartbeat.Role, metadata: any MetadataStore, clock: any Clock,
        snapshot: @escaping @Sendable () -> Snapshot
    ) {
        self.metadata = metadata
        self.clock = clock
        self.snapshot = snapshot
        let now = clock.now()
        state = Mutex(
            (
                Heartbeat(
                    role: role, host: HostIdentity.current, pid: Int(getpid()), startedAt: now,
                    beatAt: now), false
            ))
    }

    public func start() {
        let t = Thread { [self] in
            var nextForget = 0.0
            while !stopping.load(ordering: .relaxed) {
                let h = beat()
                if h.role == .agent, h.beatAt >= nextForget {
                    try? Heartbeat.forgetDead(metadata, now: h.beatAt)
                    nextForget = h.beatAt + 60
                }
                var waited = 0.0
                while waited < Heartbeat.interval && !stopping.load(ordering: .relaxed) {
                    usleep(200_000)
                    waited += 0.2
                }
            }
        }
        t.name = "heartbeat"
        t.start()
    }

    /// Records one beat now; returns it.
    @discardableResult
    public func beat() -> Heartbeat {
        let s = snapshot()
        // Recorded under the lock: a beat never lands after `stop` removed the row.
        return state.withLock { st in
            let now = clock.now()
            let elapsed = now - st.heartbeat.beatAt
            st.heartbeat.requestsPerSecond =
                elapsed > 0 ? Double(max(0, s.served - st.heartbeat.requestsServed)) / elapsed : 0
            st.heartbeat.requestsServed = s.served
            st.heartbeat.inFlight = s.inFlight
            st.heartbeat.tasks = s.tasks
            st.heartbeat.beatAt = now
            if !st.stopped { try? st.heartbeat.record(metadata) }
            return st.heartbeat
        }
    }

    /// Ends the beats and removes the row: a process that stopped cleanly is not listed as dead.
    public func stop() {
        stopping.store(true, ordering: .relaxed)
        state.withLock { st in
            st.stopped = true
            try? st.heartbeat.remove(metadata)
        }
    }
}
