import CLinux
import Foundation
import GatewayCore

#if canImport(Glibc)
    import Glibc
#endif

/// Small POSIX helpers for the supervisor and workers; calls go through `systemCall`.
func signalSet(_ signals: [Int32]) -> sigset_t {
    var set = sigset_t()
    sigemptyset(&set)
    for s in signals { sigaddset(&set, s) }
    return set
}

/// Blocks `signals` in the calling thread (and so in every thread it starts afterwards), so
/// that one thread can take them synchronously with sigtimedwait.
func blockSignals(_ signals: [Int32]) {
    var set = signalSet(signals)
    pthread_sigmask(SIG_BLOCK, &set, nil)
}

/// Waits up to `timeout` seconds for one of `signals`; nil on timeout.
func waitForSignal(_ signals: [Int32], timeout: Double) -> Int32? {
    var set = signalSet(signals)
    var ts = timespec(tv_sec: Int(timeout), tv_nsec: Int((timeout - timeout.rounded(.down)) * 1e9))
    let s = sigtimedwait(&set, nil, &ts)
    return s > 0 ? s : nil
}

/// Keeps this process's memory off the disk when it crashes: pasted source credentials,
/// decrypted secret keys and zone credentials live in it. No core file (RLIMIT_CORE 0), and not
/// dumpable — a core pattern that pipes to a handler (systemd-coredump, apport) ignores the
/// limit, and a process of the same user could otherwise attach with ptrace or read
/// /proc/PID/mem. Called first by every process that may hold such secrets.
func disableCoreDumps() {
    var none = rlimit(rlim_cur: 0, rlim_max: 0)
    setrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &none)
    _ = s3gw_set_dumpable(0)
}

/// Whether a crash of this process could still write a core file.
func coreDumpsPossible() -> Bool {
    var limit = rlimit()
    getrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &limit)
    return limit.rlim_cur != 0 || s3gw_get_dumpable() != 0
}

/// The path this binary was started from. Read once at start: after an upgrade replaced the
/// file, /proc/self/exe names the old, deleted inode ("… (deleted)"), while new workers must run
/// what is at the path now.
func executablePath() -> String {
    var buf = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buf, buf.count - 1)
    guard n > 0 else { return CommandLine.arguments[0] }
    let path = String(cString: buf)
    return path.hasSuffix(" (deleted)") ? String(path.dropLast(10)) : path
}

/// Waits up to `timeout` seconds for `count` bytes on `fd`; returns how many arrived before
/// the deadline or end of file (every writer gone).
func readBytes(_ fd: Int32, count: Int, timeout: Double) -> Int {
    let deadline = monotonicSeconds() + timeout
    var got = 0
    var buf = [UInt8](repeating: 0, count: 64)
    while got < count {
        let left = deadline - monotonicSeconds()
        if left <= 0 { return got }
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let rc = poll(&p, 1, Int32(min(left, 1) * 1000) + 1)
        if rc < 0 && errno == EINTR { continue }
        if rc <= 0 { continue }
        let n = read(fd, &buf, min(buf.count, count - got))
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return got }
        got += n
    }
    return got
}

/// Creates, binds and listens on the FastCGI unix socket with the configured mode.
func bindUnixSocket(path: String, mode: UInt32) throws -> Int32 {
    let dir = (path as NSString).deletingLastPathComponent
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    // A socket left by a crashed supervisor; refuse to unlink anything that is not a socket.
    var st = stat()
    if lstat(path, &st) == 0 {
        guard (st.st_mode & S_IFMT) == S_IFSOCK else {
            throw SystemCallError(call: "bind \(path) (exists, not a socket)", errno: EEXIST)
        }
        unlink(path)
    }
    let fd = try systemCall("socket") { socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0) }
    var addr = sockaddr_un()
    addr.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
        throw SystemCallError(call: "bind \(path) (path too long)", errno: ENAMETOOLONG)
    }
    withUnsafeMutableBytes(of: &addr.sun_path) { raw in
        raw.copyBytes(from: bytes)
        raw[bytes.count] = 0
    }
    try withUnsafePointer(to: &addr) { p in
        try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
            try systemCall("bind \(path)") { bind(fd, sa, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }
    try systemCall("chmod \(path)") { chmod(path, mode_t(mode)) }
    try systemCall("listen") { listen(fd, 1024) }
    return fd
}

/// Starts `argv` with `listenFD` as its fd 0 (nil: /dev/null) and default signal handling,
/// without fork(). `readyFD`, when given, becomes the child's fd 3 (see `Worker.readyFD`).
func spawn(argv: [String], listenFD: Int32?, readyFD: Int32? = nil) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    if let listenFD {
        posix_spawn_file_actions_adddup2(&actions, listenFD, 0)
    } else {
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    }
    if let readyFD { posix_spawn_file_actions_adddup2(&actions, readyFD, Worker.readyFD) }
    var attr = posix_spawnattr_t()
    posix_spawnattr_init(&attr)
    defer { posix_spawnattr_destroy(&attr) }
    var empty = signalSet([])
    posix_spawnattr_setsigmask(&attr, &empty)
    var defaults = signalSet([SIGTERM, SIGHUP, SIGCHLD, SIGINT, SIGPIPE])
    posix_spawnattr_setsigdefault(&attr, &defaults)
    posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    var cargs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
    defer { for p in cargs { free(p) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, argv[0], &actions, &attr, &cargs, environ)
    guard rc == 0 else { throw SystemCallError(call: "posix_spawn \(argv[0])", errno: rc) }
    return pid
}
