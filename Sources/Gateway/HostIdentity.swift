import Foundation
import SigV4
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The name this gateway host goes by in the shared metadata store: its processes' heartbeats,
/// the owners of the leases and jobs they hold, and the tag of its temp files in shared zones.
/// Several hosts share one store, so it must differ between hosts even when their hostnames and
/// state directories do not (cloned VMs and containers, all with /var/lib/s3gw): `[server]
/// host_id`, else a random id made once in the state directory at the first start (`host-id`),
/// so a clone made before that start gets its own and one made after is told in the docs to
/// remove the file (docs/HOSTS.md, "Host identity").
public enum HostIdentity {
    private static let configured = Mutex<String?>(nil)

    /// The file in the state directory that keeps a host's id.
    public static let fileName = "host-id"

    /// The id kept in `stateDir`, made (`<hostname>-<8 random hex digits>`) when `create` and
    /// there is none yet; nil when there is none and none may be made, or it cannot be read.
    public static func stored(stateDir: String, create: Bool) -> String? {
        let path = stateDir + "/" + fileName
        if let id = read(path) { return id }
        guard create else { return nil }
        let id = hostname() + "-" + String(format: "%08x", UInt32.random(in: 0...UInt32.max))
        // O_EXCL: of two processes making it at once one wins and both use its id.
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else { return read(path) }
        let line = Array((id + "\n").utf8)
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        fsync(fd)
        close(fd)
        return written == line.count ? id : read(path)
    }

    private static func read(_ path: String) -> String? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let id = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return valid(id) ? id : nil
    }

    /// 1-64 letters, digits, '-', '.' or '_' (what `[server] host_id` accepts).
    public static func valid(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 64
            && id.unicodeScalars.allSatisfy {
                ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
                    || "-._".unicodeScalars.contains($0)
            }
    }

    /// The last resort of a command run before the host ever started (no `host-id` yet):
    /// `<hostname>-<8 hex digits of the state dir>`.
    public static func derived(stateDir: String) -> String {
        hostname() + "-" + sha256Hex(Array(stateDir.utf8)).prefix(8)
    }

    private static func hostname() -> String {
        var buf = [CChar](repeating: 0, count: 256)
        gethostname(&buf, buf.count - 1)
        let name = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // A hostname may hold characters an id may not.
        return String(name.unicodeScalars.filter { valid(String($0)) }.prefix(40).map(Character.init))
    }

    /// Set once as a process starts, from its configuration.
    public static func set(_ id: String) { configured.withLock { $0 = id } }

    /// This host's id; before `set`, the hostname (a command that holds no lease).
    public static var current: String {
        configured.withLock { $0 } ?? ProcessInfo.processInfo.hostName
    }
}
