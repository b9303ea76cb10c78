import Foundation
import SigV4
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The name this gateway host goes by in the shared metadata store: its processes' heartbeats
/// and the owners of the leases and jobs they hold. Several hosts share one store, so it must
/// differ between hosts even when their hostnames do not (containers, two hosts on one machine):
/// `[server] host_id`, else the hostname and a hash of the state directory.
public enum HostIdentity {
    private static let configured = Mutex<String?>(nil)

    /// What `[server] host_id` left unset becomes: `<hostname>-<8 hex digits of the state dir>`.
    public static func derived(stateDir: String) -> String {
        var buf = [CChar](repeating: 0, count: 256)
        gethostname(&buf, buf.count - 1)
        let name = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name + "-" + sha256Hex(Array(stateDir.utf8)).prefix(8)
    }

    /// Set once as a process starts, from its configuration.
    public static func set(_ id: String) { configured.withLock { $0 = id } }

    /// This host's id; before `set`, the hostname (a command that holds no lease).
    public static var current: String {
        configured.withLock { $0 } ?? ProcessInfo.processInfo.hostName
    }
}
