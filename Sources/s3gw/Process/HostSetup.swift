import FileSystemBackend
import Gateway

/// Makes this process the host its configuration names (`[server] host_id`, docs/HOSTS.md):
/// the owner of its heartbeats, leases and jobs in the shared store, and the tag of its temp
/// files in shared filesystem zones. First thing in the supervisor and in every spawned process.
enum HostSetup {
    static func adopt(_ config: GatewayConfig) {
        let id = config.hostIdentity
        HostIdentity.set(id)
        FileSystemZone.setHost(id)
    }
}
