import Foundation
import GatewayCore

#if canImport(Glibc)
    import Glibc
#endif

/// Asks the run over its unix socket: one JSON line each way, the whole exchange — connect
/// included — within `timeout` seconds.
public struct UnixSocketReadThrough: ReadThroughFetcher {
    public var timeout: Double

    public init(timeout: Double = 30) { self.timeout = timeout }

    public func fetch(_ route: ReadThroughRoute, key: String) -> ReadThroughAnswer {
        let deadline = Date().addingTimeInterval(timeout)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return .failed("socket: errno \(errno)") }
        defer { close(fd) }
        switch UnixSocket.connect(fd, path: route.socket, deadline: deadline) {
        case .connected: break
        case .refused: return .unavailable
        case .timedOut: return .timedOut
        }
        guard var line = try? JSONEncoder().encode(ReadThroughWire.Request(bucket: route.bucket, key: key)) else {
            return .failed("cannot encode the request")
        }
        line.append(0x0A)
        guard UnixSocket.writeAll(fd, Array(line), deadline: deadline) else {
            return Date() < deadline ? .unavailable : .timedOut
        }
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
