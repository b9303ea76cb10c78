import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The few socket calls both ends of read-through make, each bounded by a deadline: no call
/// here may block a thread past it, whatever the other end does (a stopped process whose
/// listen queue is full, a client sending a byte now and then).
enum UnixSocket {
    static func address(_ path: String) -> sockaddr_un? {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { return nil }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return addr
    }

    /// Bounds every blocking send, receive and connect on `fd` to what is left until
    /// `deadline` (at least a millisecond: a zero timeout means none at all).
    static func setTimeouts(_ fd: Int32, until deadline: Date) {
        let left = max(0.001, deadline.timeIntervalSinceNow)
        var tv = timeval(tv_sec: Int(left), tv_usec: Int((left - left.rounded(.down)) * 1e6))
        let size = socklen_t(MemoryLayout<timeval>.size)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, size)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, size)
    }

    enum Connect: Equatable {
        case connected
        /// No one listens there (no socket, or one whose process is gone).
        case refused
        /// Someone listens but does not take the connection (its listen queue is full).
        case timedOut
    }

    /// Connects `fd` to the socket at `path` before `deadline`. The send timeout is set first:
    /// a unix socket's connect waits for room in a full listen queue as long as it says.
    static func connect(_ fd: Int32, path: String, deadline: Date) -> Connect {
        guard var addr = address(path) else { return .refused }
        return withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                while true {
                    setTimeouts(fd, until: deadline)
                    if Glibc.connect(fd, sa, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0 { return .connected }
                    switch errno {
                    case EINTR where Date() < deadline: continue
                    case EINTR, EAGAIN, EWOULDBLOCK, EINPROGRESS, ETIMEDOUT: return .timedOut
                    default: return .refused
                    }
                }
            }
        }
    }

    /// Sends all of `bytes` before `deadline`; false when the other end is gone or slow.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8], deadline: Date) -> Bool {
        var off = 0
        while off < bytes.count {
            guard Date() < deadline else { return false }
            setTimeouts(fd, until: deadline)
            let n = bytes[off...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) { continue }
            guard n > 0 else { return false }
            off += n
        }
        return true
    }

    enum Read {
        case line([UInt8])
        case timedOut
        case closed
    }

    /// Bytes up to a newline; `timedOut` once `deadline` passed without one, however the bytes
    /// trickle in (each receive waits only for what is left of it).
    static func readLine(_ fd: Int32, limit: Int, deadline: Date) -> Read {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while out.count < limit {
            guard Date() < deadline else { return .timedOut }
            setTimeouts(fd, until: deadline)
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK { continue }
                return .closed
            }
            if n == 0 { return out.isEmpty ? .closed : .line(out) }
            if let nl = buf[0..<n].firstIndex(of: 0x0A) {
                out += buf[0..<nl]
                return .line(out)
            }
            out += buf[0..<n]
        }
        return .closed
    }
}
