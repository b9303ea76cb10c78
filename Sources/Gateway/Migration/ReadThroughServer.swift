import Foundation
import GatewayCore
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The run's end of read-through: a unix socket (mode 0600, under the state directory) on
/// which workers ask for a key to be copied now. The source credentials stay in this process:
/// a worker only ever learns whether the key is in the gateway now.
public final class ReadThroughServer: Sendable {
    public let path: String
    private let fd: Int32
    private let answer: @Sendable (String, String) -> ReadThroughAnswer
    private let logger: Logger
    private let stopped = Atomic<Bool>(false)
    private let busy = Atomic<Int>(0)
    /// Requests answered at once; more wait in the listen queue.
    static let maxConcurrent = 32

    /// The socket of run `runId` under `stateDir` (short: a unix socket path has ~100 bytes).
    public static func path(stateDir: String, runId: String) -> String {
        "\(stateDir)/migration/\(runId.prefix(16)).sock"
    }

    /// Binds and listens; `answer(bucket, key)` runs on a thread per request.
    public init(path: String, logger: Logger, answer: @escaping @Sendable (String, String) -> ReadThroughAnswer)
        throws
    {
        guard var addr = UnixSocket.address(path) else {
            throw MigrationError(.invalidArgument, "the read-through socket path \(path) is too long for a unix socket")
        }
        let dir = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(
            atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        var st = stat()
        if lstat(path, &st) == 0 {
            // A socket a killed run left; anything else is not ours to remove.
            guard (st.st_mode & S_IFMT) == S_IFSOCK else {
                throw MigrationError(.conflict, "\(path) exists and is not a socket")
            }
            unlink(path)
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SystemCallError(call: "socket", errno: errno) }
        // Created 0600 from the start: no moment in which another user could connect.
        let old = umask(0o177)
        let bound = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        umask(old)
        guard bound == 0, listen(fd, 128) == 0 else {
            let e = errno
            close(fd)
            throw SystemCallError(call: "bind \(path)", errno: e)
        }
        // Run as root, the socket goes to the state directory's owner: the workers' user.
        if geteuid() == 0, stat((path as NSString).deletingLastPathComponent + "/..", &st) == 0 {
            _ = chown(path, st.st_uid, st.st_gid)
        }
        self.path = path
        self.fd = fd
        self.answer = answer
        self.logger = logger
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "read-through"
        thread.start()
    }

    /// Stops answering and removes the socket; requests under way still get their answer.
    public func stop() {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        unlink(path)
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }

    deinit { stop() }

    private func acceptLoop() {
        while !stopped.load(ordering: .relaxed) {
            let c = accept(fd, nil, nil)
            if c < 0 {
                if errno == EINTR { continue }
                return
            }
            if busy.add(1, ordering: .relaxed).newValue > Self.maxConcurrent {
                busy.subtract(1, ordering: .relaxed)
                reply(c, .init(result: "failed", message: "too many read-through requests at once"))
                close(c)
                continue
            }
            let t = Thread { [self] in
                serve(c)
                close(c)
                busy.subtract(1, ordering: .relaxed)
            }
            t.start()
        }
    }

    private func serve(_ c: Int32) {
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        guard case .line(let line) = UnixSocket.readLine(c, limit: 16 * 1024, deadline: Date().addingTimeInterval(10)),
            let request = try? JSONDecoder().decode(ReadThroughWire.Request.self, from: Data(line))
        else { return }
        let result: ReadThroughWire.Answer
        switch answer(request.bucket, request.key) {
        case .copied: result = .init(result: "copied")
        case .absent: result = .init(result: "absent")
        case .failed(let why): result = .init(result: "failed", message: why)
        case .unavailable, .timedOut: result = .init(result: "failed", message: "unavailable")
        }
        reply(c, result)
    }

    private func reply(_ c: Int32, _ a: ReadThroughWire.Answer) {
        guard var bytes = try? JSONEncoder().encode(a) else { return }
        bytes.append(0x0A)
        _ = UnixSocket.writeAll(c, Array(bytes))
    }
}
