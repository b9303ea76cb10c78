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
/// would be lost with it). Deepest first: the parents exist for all but a zone's or a bucket's
/// first directories, so creating a fan-out directory is one mkdir, not one per component.
func makeDirectories(_ path: String) throws(StoreError) {
    guard !path.isEmpty, path != "/", path != "." else { return }
    var failure: Int32 = 0
    let made = try syscall("mkdir \(path)", tolerating: [EEXIST, ENOENT]) { () -> Int32 in
        let r = mkdir(path, 0o755)
        if r != 0 { failure = errno }
        return r
    }
    if made == 0 { return try syncDirectory(parentDirectory(path)) }
    if failure == EEXIST { return }
    try makeDirectories(parentDirectory(path))
    if try syscall("mkdir \(path)", tolerating: [EEXIST], { mkdir(path, 0o755) }) == 0 {
        try syncDirectory(parentDirectory(path))
    }
}

/// The directory `path` is in: "/" for a top-level entry, "." for a bare name.
func parentDirectory(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
}

/// fsync of a directory: the entries created or renamed in it survive a crash.
func syncDirectory(_ dir: String) throws(StoreError) {
    let fd = try syscall("open \(dir)") { open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
    defer { close(fd) }
    try syscall("fsync \(dir)") { fsync(fd) }
}
