#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A failed system call: what was called (with its argument) and errno.
public struct SystemCallError: Error, Sendable, CustomStringConvertible {
    public let call: String
    public let errno: Int32

    public init(call: String, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    public var description: String { "\(call): \(String(cString: strerror(errno))) (errno \(errno))" }
}

/// Every system call whose failure matters goes through here (best-effort cleanup such as
/// close or unlinking a temporary may not): EINTR is retried, an errno in
/// `tolerated` counts as done (EEXIST for mkdir, ENOENT for unlink), anything else throws an
/// error naming the call and errno.
@discardableResult
public func systemCall<T: BinaryInteger>(
    _ call: @autoclosure () -> String, tolerating tolerated: [Int32] = [], _ body: () -> T
) throws(SystemCallError) -> T {
    while true {
        let r = body()
        if r >= 0 { return r }
        let e = errno
        if e == EINTR { continue }
        if tolerated.contains(e) { return r }
        throw SystemCallError(call: call(), errno: e)
    }
}
