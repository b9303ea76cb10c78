import Foundation
import Gateway
import GatewayCore
import Logging

/// Two hosts under one id (a cloned machine that kept its `host-id`, the same `[server]
/// host_id` twice) would take each other's temp files and processes for their own
/// (docs/HOSTS.md, "Host identity"). The agent looks once, a few beats after it started, for
/// processes of its host id that beat into the store after that start yet do not run here.
enum HostIdCheck {
    static func start(_ context: GatewayContext, logger: Logger, stopping: @escaping @Sendable () -> Bool) {
        let started = context.clock.now()
        let t = Thread {
            // Long enough for every process of another host under this id to have beaten once.
            let deadline = monotonicSeconds() + 2 * Heartbeat.interval + 1
            while monotonicSeconds() < deadline {
                if stopping() { return }
                usleep(200_000)
            }
            let id = HostIdentity.current
            let now = context.clock.now()
            let rows =
                ((try? Heartbeat.all(.agent, context.metadata)) ?? [])
                + ((try? Heartbeat.all(.worker, context.metadata)) ?? [])
            let foreign = rows.filter {
                $0.host == id && $0.isAlive(now: now) && $0.beatAt > started && kill(pid_t($0.pid), 0) != 0
                    && errno == ESRCH
            }
            guard !foreign.isEmpty else { return }
            logger.critical(
                "another host runs under this host's id \(id): process(es) \(foreign.map { String($0.pid) }.sorted().joined(separator: ", ")) beat into the store but do not run here; give each host its own id (remove host-id from the state directory of a cloned machine, or set [server] host_id; docs/HOSTS.md)"
            )
        }
        t.name = "host-id-check"
        t.start()
    }
}
