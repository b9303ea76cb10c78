import Foundation
import GatewayCore
import Logging
import Synchronization

/// Runs started through the API: each on a thread of the worker that received the request, the
/// source credentials in that thread's memory only. Progress and cancel requests go through the
/// metadata store, so any worker answers for any run.
public final class MigrationRuns: Sendable {
    /// Runs one process carries at once.
    public let maxRuns: Int
    private let running = Mutex<[String: MigrationRunner]>([:])

    public init(maxRuns: Int = 2) { self.maxRuns = maxRuns }

    /// What a start needs besides the plan.
    public struct Start: Sendable {
        public var credentials: SourceCredentials
        /// nil: https on the plan's host.
        public var endpoint: String?
        public var readThrough: Bool
        public var parallel: Int
        /// The session token the caller's request carried (temporary gateway credentials): the
        /// run checks the caller again as it goes (`MigrationRunner.Caller`).
        public var callerSessionToken: String?

        public init(
            credentials: SourceCredentials, endpoint: String? = nil, readThrough: Bool = false, parallel: Int = 4,
            callerSessionToken: String? = nil
        ) {
            self.credentials = credentials
            self.endpoint = endpoint
            self.readThrough = readThrough
            self.parallel = parallel
            self.callerSessionToken = callerSessionToken
        }
    }

    /// Starts the plan's run on a thread of this process and returns its first status; throws
    /// when it runs already (here or in any other process: the run is claimed in the metadata
    /// store first), the process is busy, the caller may not set the replica-count the plan
    /// needs, or the source cannot be opened.
    public func start(
        _ plan: MigrationPlanV1, _ start: Start, by principal: Principal, _ ctx: GatewayContext, logger: Logger
    ) throws -> MigrationRunStatus {
        guard let connector = ctx.migration.connector else {
            throw MigrationError(.sourceFailed, "this gateway process cannot open source accounts")
        }
        try MigrationRunner.checkNotRunning(plan.plan.id, ctx)
        try MigrationRunner.checkReplicaCounts(plan, by: principal, ctx)
        var readThroughIn: String?
        if start.readThrough {
            guard let stateDir = ctx.migration.stateDir else {
                throw MigrationError(.invalidArgument, "read-through needs the state directory")
            }
            readThroughIn = stateDir
        }
        let source = try Self.connect(plan, endpoint: start.endpoint, start.credentials, connector)
        var options = MigrationRunner.Options()
        options.parallel = start.parallel
        // The run may last days: it acts for the caller only while the caller's credential works.
        options.caller = .init(sessionToken: start.callerSessionToken)
        options.origin = RequestTrace.current?.origin ?? .web
        if let stateDir = readThroughIn {
            options.readThroughSocket = ReadThroughServer.path(stateDir: stateDir, runId: plan.plan.id)
        }
        let runner = MigrationRunner(
            plan: plan, source: source, principal: principal, ctx: ctx, options: options, logger: logger)
        let admitted = running.withLock { r -> Bool in
            guard r.count < maxRuns, r[plan.plan.id] == nil else { return false }
            r[plan.plan.id] = runner
            return true
        }
        guard admitted else {
            throw MigrationError(.busy, "this gateway process runs \(maxRuns) migrations already; try again later")
        }
        // The row exists before the answer, so a GET right after the start finds it.
        do {
            try runner.claim()
        } catch {
            _ = running.withLock { $0.removeValue(forKey: plan.plan.id) }
            throw error
        }
        var server: ReadThroughServer?
        if let stateDir = readThroughIn {
            do {
                server = try ReadThroughServer(stateDir: stateDir, runId: plan.plan.id, logger: logger) {
                    bucket, key in runner.readThrough(bucket: bucket, key: key)
                }
            } catch {
                runner.abandon("cannot serve read-through: \(error)")
                _ = running.withLock { $0.removeValue(forKey: plan.plan.id) }
                let e = error as? MigrationError
                throw MigrationError(
                    e?.code ?? .invalidArgument, "cannot serve read-through: \(e?.message ?? "\(error)")")
            }
        }
        let readThroughServer = server
        let thread = Thread { [self] in
            runner.run()
            readThroughServer?.stop()
            _ = running.withLock { $0.removeValue(forKey: plan.plan.id) }
        }
        thread.name = "migration \(plan.plan.id.prefix(8))"
        thread.start()
        return runner.progress
    }

    /// Stops every run of this process (a worker shutting down) and waits up to `timeout`
    /// seconds for them to notice; each ends `interrupted` and resumes when started again.
    public func stopAll(timeout: Double) {
        for r in running.withLock({ Array($0.values) }) { r.interrupt() }
        let deadline = Date().addingTimeInterval(timeout)
        while !running.withLock({ $0.isEmpty }) && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
    }

    /// Runs this process carries now.
    public var count: Int { running.withLock { $0.count } }

    /// Opens the plan's source: at `given` (which must name the plan's host), else at the plan's
    /// host over https or, where the allow-list admits only that, http (a local S3 service).
    public static func connect(
        _ plan: MigrationPlanV1, endpoint given: String?, _ credentials: SourceCredentials,
        _ connector: SourceConnector
    ) throws -> any SourceAccount {
        let candidates =
            try given.map { [try endpoint($0, plan: plan)] }
            ?? ["https://", "http://"].map { $0 + plan.plan.source.endpointHost }
        var refusal = SourceError.endpointNotAllowed(plan.plan.source.endpointHost)
        for e in candidates {
            do throws(SourceError) {
                return try connector(SourceSpec(endpoint: e, region: plan.plan.source.region, credentials: credentials))
            } catch {
                refusal = error
                if case .endpointNotAllowed = error { continue }
                break
            }
        }
        if case .endpointNotAllowed = refusal { throw MigrationError(.endpointNotAllowed, refusal.message) }
        throw MigrationError(.sourceFailed, refusal.message)
    }

    /// `https://<plan's host>`, or `given` when it names the plan's host (another scheme or
    /// the scheme's default port).
    public static func endpoint(_ given: String?, plan: MigrationPlanV1) throws -> String {
        let planned = plan.plan.source.endpointHost
        guard let given, !given.isEmpty else { return "https://" + planned }
        guard given.hasPrefix("http://") || given.hasPrefix("https://"),
            let host = SnapshotV1.Source(endpoint: given, region: "")?.endpointHost
        else {
            throw MigrationError(.invalidArgument, "the source endpoint must be http(s)://host[:port]")
        }
        func bare(_ h: String) -> String {
            for port in [":443", ":80"] where h.hasSuffix(port) { return String(h.dropLast(port.count)) }
            return h
        }
        guard bare(host) == bare(planned) else {
            throw MigrationError(
                .invalidArgument, "the source endpoint names \(host), but the plan was made from \(planned)")
        }
        return given
    }
}
