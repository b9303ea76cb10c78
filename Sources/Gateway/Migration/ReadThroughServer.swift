import Foundation
import GatewayCore
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The run's end of read-through: a unix socket (mode 0600, under the state directory, owned
/// with its directory by the state directory's owner) on which workers ask for a key to be
/// copied now. The source credentials stay in this process: a worker only ever learns whether
/// the key is in the gateway now.
public final class ReadThroughServer: Sendable {
    public let path: String
    private let fd: Int32
    /// The socket file this server bound: `stop` removes the path only while it is still this one.
    private let inode: (dev: UInt, ino: UInt)
    private let readTimeout: Double
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

    /// Binds and listens at `path(stateDir:runId:)`; `answer(bucket, key)` runs on a thread per
    /// request, whose request line must arrive within `readTimeout` seconds. Refused when a live
    /// process serves that socket already; a socket nobody listens on (a killed run's) is
    /// replaced.
    public init(
        stateDir: String, runId: String, logger: Logger, readTimeout: Double = 10,
        answer: @escaping @Sendable (String, String) -> ReadThroughAnswer
    ) throws {
        let path = Self.path(stateDir: stateDir, runId: runId)
        guard var addr = UnixSocket.address(path) else {
            throw MigrationError(.invalidArgument, "the read-through socket path \(path) is too long for a unix socket")
        }
        try StateDirectory.makeDirectory((path as NSString).deletingLastPathComponent, in: stateDir)
        var st = stat()
        if lstat(path, &st) == 0 {
            // Anything but a socket is not ours to remove; a socket someone answers on is in use.
            guard (st.st_mode & S_IFMT) == S_IFSOCK else {
                throw MigrationError(.conflict, "\(path) exists and is not a socket")
            }
            guard !Self.isLive(path) else {
                throw MigrationError(
                    .conflict, "a running process serves read-through at \(path) already (is run \(runId) running?)")
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
        guard bound == 0, listen(fd, 128) == 0, lstat(path, &st) == 0 else {
            let e = errno
            close(fd)
            throw SystemCallError(call: "bind \(path)", errno: e)
        }
        do {
            // Run as root, the socket goes to the state directory's owner: the workers' user.
            try StateDirectory.giveToOwner(path, in: stateDir)
        } catch {
            unlink(path)
            close(fd)
            throw error
        }
        self.path = path
        self.fd = fd
        inode = (UInt(st.st_dev), UInt(st.st_ino))
        self.readTimeout = readTimeout
        self.answer = answer
        self.logger = logger
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "read-through"
        thread.start()
    }

    /// Whether a process listens on the socket at `path`: it takes a connection, or its
    /// listen queue is full (alive, but stopped or swamped).
    static func isLive(_ path: String) -> Bool {
        let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard probe >= 0 else { return false }
        defer { close(probe) }
        return UnixSocket.connect(probe, path: path, deadline: Date().addingTimeInterval(1)) != .refused
    }

    /// Stops answering and removes the socket — unless another server has bound that path
    /// since; requests under way still get their answer.
    public func stop() {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        var st = stat()
        if lstat(path, &st) == 0, UInt(st.st_dev) == inode.dev, UInt(st.st_ino) == inode.ino { unlink(path) }
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
                logger.warning("read-through: \(Self.maxConcurrent) requests under way; one more refused")
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
        // The whole request line within the deadline, however slowly its bytes come.
        let line: [UInt8]
        switch UnixSocket.readLine(c, limit: 16 * 1024, deadline: Date().addingTimeInterval(readTimeout)) {
        case .line(let l): line = l
        case .timedOut:
            logger.debug("read-through: no request line within \(readTimeout) s; connection closed")
            return
        case .closed: return
        }
        guard let request = try? JSONDecoder().decode(ReadThroughWire.Request.self, from: Data(line)) else {
            logger.debug("read-through: a request line that is not one; connection closed")
            return
        }
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
        _ = UnixSocket.writeAll(c, Array(bytes), deadline: Date().addingTimeInterval(readTimeout))
    }
}
