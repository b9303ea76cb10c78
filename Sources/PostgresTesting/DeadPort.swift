import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A 127.0.0.1 port where nothing accepts connections: a socket bound to it but not listening, so
/// a connect is refused at once and no other process can take the port while the test runs.
public final class DeadPort {
    public let port: Int
    private let fd: Int32

    public init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else {
            close(fd)
            throw POSIXError(.EADDRINUSE)
        }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: addr.sin_port))
    }

    deinit { close(fd) }
}

extension TestPostgres {
    /// `conninfo` (key=value form, as `freshDatabase` returns) naming two hosts: first the dead
    /// `port`, then the live server, with `target_session_attrs=read-write` — what a deployment
    /// with a standby or a moved primary writes. Later keywords override earlier ones in libpq.
    public static func multiHost(_ conninfo: String, deadPort: Int) -> String? {
        let ports = conninfo.split(separator: " ").compactMap { word in
            word.hasPrefix("port=") ? Int(word.dropFirst("port=".count)) : nil
        }
        guard let live = ports.last else { return nil }
        return conninfo + " host=127.0.0.1,127.0.0.1 port=\(deadPort),\(live) target_session_attrs=read-write"
    }
}
