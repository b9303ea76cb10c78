import GatewayCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The shared system-call helper, its failures translated at this backend's edge into the
/// store error handlers understand.
@discardableResult
func syscall<T: BinaryInteger>(_ what: @autoclosure () -> String, tolerating: [Int32] = [], _ body: () -> T)
    throws(StoreError) -> T
{
    do {
        return try systemCall(what(), tolerating: tolerating, body)
    } catch {
        throw .internalFailure(error.description)
    }
}

/// Creates a directory and its parents; an existing one is fine. Each directory it creates is
/// made durable in its parent (a blob renamed into a fan-out directory that a crash forgets
/// would be lost with it).
func makeDirectories(_ path: String) throws(StoreError) {
    var current = path.hasPrefix("/") ? "" : "."
    for component in path.split(separator: "/") {
        let parent = current.isEmpty ? "/" : current
        current += "/" + component
        let dir = current
        if try syscall("mkdir \(dir)", tolerating: [EEXIST], { mkdir(dir, 0o755) }) == 0 {
            try syncDirectory(parent)
        }
    }
}

/// fsync of a directory: the entries created or renamed in it survive a crash.
func syncDirectory(_ dir: String) throws(StoreError) {
    let fd = try syscall("open \(dir)") { open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
    defer { close(fd) }
    try syscall("fsync \(dir)") { fsync(fd) }
}
