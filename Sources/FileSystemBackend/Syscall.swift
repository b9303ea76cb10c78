import GatewayCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Every syscall goes through here: retries EINTR, turns failure into a StoreError naming the
/// call and errno.
@discardableResult
func syscall<T: BinaryInteger>(_ what: @autoclosure () -> String, _ body: () -> T) throws(StoreError) -> T {
    while true {
        let r = body()
        if r >= 0 { return r }
        let e = errno
        if e == EINTR { continue }
        throw .internalFailure("\(what()): \(String(cString: strerror(e))) (errno \(e))")
    }
}

func randomBlobId() -> String {
    var g = SystemRandomNumberGenerator()
    let a = g.next() as UInt64
    let b = g.next() as UInt64
    return hex64(a) + hex64(b)
}

private func hex64(_ v: UInt64) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: 16 - s.count) + s
}

/// Creates a directory and its parents; an existing one is fine.
func makeDirectories(_ path: String) throws(StoreError) {
    var current = path.hasPrefix("/") ? "" : "."
    for component in path.split(separator: "/") {
        current += "/" + component
        if mkdir(current, 0o755) != 0 && errno != EEXIST {
            throw .internalFailure("mkdir \(current): \(String(cString: strerror(errno)))")
        }
    }
}
