import GatewayCore

/// The gateway's processes on every host, from their heartbeats: `GET /admin/agents` (what each
/// agent is doing, the jobs it runs, the queue's rates) and `GET /admin/workers` (requests).
extension AdminAPI {
    public struct TaskView: Codable, Sendable {
        public var name: String
        public var since: String
    }

    public struct AgentView: Codable, Sendable {
        public var host: String
        public var pid: Int
        public var startedAt: String
        public var lastBeatAt: String
        /// Its last beat is recent (within three beat intervals).
        public var alive: Bool
        /// What its threads are doing now (zone health check, scrub, orphan sweep…).
        public var tasks: [TaskView]
        /// The replication jobs it holds now.
        public var jobs: [JobView]
    }

    public struct AgentsView: Codable, Sendable {
        public var items: [AgentView]
        public var nextMarker: String?
        public var queue: QueueView
    }

    public struct WorkerView: Codable, Sendable {
        public var host: String
        public var pid: Int
        public var startedAt: String
        public var lastBeatAt: String
        public var alive: Bool
        /// Requests answered since it started, per second between its last two beats, and
        /// being answered at its last beat.
        public var requestsServed: Int
        public var requestsPerSecond: Double
        public var inFlight: Int
    }

    static let processRoutes: [Route] = [
        Route("GET", "agents", "admin:ListAgents", .gateway) { r, _, ctx throws(AdminError) in
            let (marker, limit) = try r.page()
            let now = r.now
            let beats = try heartbeats(.agent, after: marker, limit: limit, ctx)
            let running = try store { () throws(StoreError) in
                try ctx.metadata.jobs(bucket: nil, key: nil, state: .running, after: 0, limit: 1000)
            }
            let page = AdminPage(
                beats.map { h in
                    AgentView(
                        host: h.host, pid: h.pid, startedAt: HTTPDate.iso8601(h.startedAt),
                        lastBeatAt: HTTPDate.iso8601(h.beatAt), alive: h.isAlive(now: now),
                        tasks: h.tasks.map { TaskView(name: $0.name, since: HTTPDate.iso8601($0.since)) },
                        jobs: running.filter { $0.leaseOwner.hasPrefix(h.leasePrefix) }.map(JobView.init))
                }, limit: limit
            ) { "\($0.host):\($0.pid)" }
            let stats = try store { () throws(StoreError) in try ctx.metadata.queueStats(now: now) }
            return .json(AgentsView(items: page.items, nextMarker: page.nextMarker, queue: QueueView(stats)))
        },
        Route("GET", "workers", "admin:ListWorkers", .gateway) { r, _, ctx throws(AdminError) in
            let (marker, limit) = try r.page()
            let beats = try heartbeats(.worker, after: marker, limit: limit, ctx)
            return .json(
                AdminPage(
                    beats.map { h in
                        WorkerView(
                            host: h.host, pid: h.pid, startedAt: HTTPDate.iso8601(h.startedAt),
                            lastBeatAt: HTTPDate.iso8601(h.beatAt), alive: h.isAlive(now: r.now),
                            requestsServed: h.requestsServed, requestsPerSecond: h.requestsPerSecond,
                            inFlight: h.inFlight)
                    }, limit: limit
                ) { "\($0.host):\($0.pid)" })
        },
    ]

    /// Up to limit+1 heartbeats of `role` after the "host:pid" marker, in that order.
    static func heartbeats(_ role: Heartbeat.Role, after marker: String, limit: Int, _ ctx: GatewayContext)
        throws(AdminError) -> [Heartbeat]
    {
        let all = try store { () throws(StoreError) in try Heartbeat.all(role, ctx.metadata) }
        return Array(
            all.map { ("\($0.host):\($0.pid)", $0) }.sorted { $0.0 < $1.0 }.filter { $0.0 > marker }.prefix(limit + 1)
                .map(\.1))
    }
}
