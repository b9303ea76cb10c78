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

/// Creates a directory and its parents; an existing one is fine.
func makeDirectories(_ path: String) throws(StoreError) {
    var current = path.hasPrefix("/") ? "" : "."
    for component in path.split(separator: "/") {
        current += "/" + component
        let dir = current
        try syscall("mkdir \(dir)", tolerating: [EEXIST]) { mkdir(dir, 0o755) }
    }
}
