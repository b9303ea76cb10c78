internal import COpenSSL

/// libcrypto set up for a long-running process whose threads may still be answering a request
/// while the process ends: without this, libcrypto frees its global state in an `atexit`
/// handler, and a request thread hashing a signature at that moment crashes (a worker drained on
/// SIGHUP took one last request in the instant it exited, segfaulted, and its crash report hung
/// the worker). The kernel frees everything at exit anyway.
public enum CryptoLibrary {
    /// Call first in the process, before any other libcrypto call.
    public static func initializeForProcess() {
        _ = OPENSSL_init_crypto(UInt64(OPENSSL_INIT_NO_ATEXIT), nil)
    }
}

/// Overwrites key material in place (a data key, a customer key) so it does not linger in
/// freed memory; the compiler may not drop it as a dead store.
public func wipeBytes(_ bytes: inout [UInt8]) {
    bytes.withUnsafeMutableBytes { if let base = $0.baseAddress { OPENSSL_cleanse(base, $0.count) } }
}
