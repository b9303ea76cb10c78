import FileSystemBackend
import Foundation
import Gateway
import Logging

/// Makes this process the host its configuration names (`[server] host_id`, else the state
/// directory's `host-id`; docs/HOSTS.md): the owner of its heartbeats, leases and jobs in the
/// shared store, and the tag of its temp files in shared filesystem zones. The supervisor pins
/// the id for the processes it spawns (`pinnedVariable`): workers and agents started by a reload
/// read the new configuration, and must still be the host their supervisor is.
enum HostSetup {
    static let pinnedVariable = "S3GW_PINNED_HOST_ID"

    /// The supervisor, first thing once the state directory exists: makes `host-id` at the
    /// first start and hands the id to its children.
    static func pin(_ config: GatewayConfig) {
        // Made even when `[server] host_id` names the host: the file also marks that this
        // state directory has started before (a joining host's checks).
        let stored = HostIdentity.stored(stateDir: config.stateDir, create: true)
        let id = config.hostId ?? stored ?? HostIdentity.derived(stateDir: config.stateDir)
        setenv(pinnedVariable, id, 1)
        use(id)
    }

    /// On reload: an id the new configuration names differently takes effect at the next start.
    static func checkReload(_ next: GatewayConfig, logger: Logger) {
        let id = next.hostIdentity
        if id != HostIdentity.current {
            logger.warning(
                "host id changes need a restart; keeping \(HostIdentity.current) (the new configuration says \(id))")
        }
    }

    /// Every other process: the id its supervisor pinned, else its configuration's.
    static func adopt(_ config: GatewayConfig) {
        let pinned = ProcessInfo.processInfo.environment[pinnedVariable].flatMap { HostIdentity.valid($0) ? $0 : nil }
        use(pinned ?? config.hostIdentity)
    }

    private static func use(_ id: String) {
        HostIdentity.set(id)
        FileSystemZone.setHost(id)
    }
}
