import Foundation
import GatewayCore
import Logging
import S3Protocol

#if canImport(Glibc)
    import Glibc
#endif

/// What the run answers when a worker asks it to copy a key now.
public enum ReadThroughAnswer: Sendable, Equatable {
    /// The object is in the gateway now (copied, or it was already).
    case copied
    /// The source has no such key either.
    case absent
    /// The run tried and could not (the reason is for the log, not the client).
    case failed(String)
    /// Nobody answered: the run ended without removing its route (crashed). Ignored.
    case unavailable
    /// The run did not answer within the bound.
    case timedOut
}

/// How a worker reaches the run that serves a bucket's missing keys.
public protocol ReadThroughFetcher: Sendable {
    func fetch(_ route: ReadThroughRoute, key: String) -> ReadThroughAnswer
}

/// The one request and answer line on a read-through socket.
struct ReadThroughWire {
    struct Request: Codable {
        var bucket: String
        var key: String
    }

    struct Answer: Codable {
        /// "copied", "absent", "failed".
        var result: String
        var message: String?
    }
}

extension Handlers {
    /// GET/HEAD of a key the gateway lacks in a bucket a migration run is copying with
    /// read-through on: the run copies it now (from the source, through the normal write path)
    /// and the read is answered from the gateway as usual. False when there is nothing to wait
    /// for (no route, a stale one, or the source lacks the key too): the read's NoSuchKey stands.
    static func readThrough(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> Bool {
        guard let bucket = r.bucket, let key = r.key, r.query["versionId"] == nil,
            let route = try ctx.metadata.readThrough(bucket: bucket)
        else { return false }
        switch ctx.migration.readThrough.fetch(route, key: key) {
        case .copied: return true
        case .absent: return false
        case .unavailable:
            logger.debug("read-through route of \(bucket) to run \(route.runId) does not answer; ignored")
            return false
        case .timedOut:
            throw S3Error(
                .serviceUnavailable, "The object is being copied into this bucket from its source. Please try again.")
        case .failed(let why):
            logger.warning("read-through of \(bucket)/\(key) failed in run \(route.runId): \(why)")
            throw S3Error(.serviceUnavailable, "The object could not be copied from its source. Please try again.")
        }
    }
}

/// Asks the run over its unix socket: one JSON line each way, within `timeout` seconds.
public struct UnixSocketReadThrough: ReadThroughFetcher {
    public var timeout: Double

    public init(timeout: Double = 30) { self.timeout = timeout }

    public func fetch(_ route: ReadThroughRoute, key: String) -> ReadThroughAnswer {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return .failed("socket: errno \(errno)") }
        defer { close(fd) }
        guard UnixSocket.connect(fd, path: route.socket) else { return .unavailable }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        guard var line = try? JSONEncoder().encode(ReadThroughWire.Request(bucket: route.bucket, key: key)) else {
            return .failed("cannot encode the request")
        }
        line.append(0x0A)
        guard UnixSocket.writeAll(fd, Array(line)) else { return .unavailable }
        let deadline = Date().addingTimeInterval(timeout)
        switch UnixSocket.readLine(fd, limit: 64 * 1024, deadline: deadline) {
        case .line(let bytes):
            guard let answer = try? JSONDecoder().decode(ReadThroughWire.Answer.self, from: Data(bytes)) else {
                return .failed("an answer that is not one")
            }
            switch answer.result {
            case "copied": return .copied
            case "absent": return .absent
            default: return .failed(answer.message ?? "no reason given")
            }
        case .timedOut: return .timedOut
        case .closed: return .unavailable
        }
    }
}

/// The few socket calls both ends of read-through make.
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

    static func connect(_ fd: Int32, path: String) -> Bool {
        guard var addr = address(path) else { return false }
        return withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                while true {
                    if Glibc.connect(fd, sa, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0 { return true }
                    if errno != EINTR { return false }
                }
            }
        }
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
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

    /// Bytes up to a newline; `timedOut` once `deadline` passed without one.
    static func readLine(_ fd: Int32, limit: Int, deadline: Date) -> Read {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while out.count < limit {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK {
                    if Date() < deadline { continue }
                    return .timedOut
                }
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
