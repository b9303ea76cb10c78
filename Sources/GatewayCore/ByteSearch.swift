#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Byte-string search for the hot paths that look for a delimiter in raw bytes (a multipart
/// boundary in an upload's body, a field in an operations log line).
public enum ByteSearch {
    /// Where `needle` first occurs in `hay` (memchr for its first byte, memcmp for the rest);
    /// nil when it does not. An empty needle is found at 0.
    public static func find(_ needle: UnsafeRawBufferPointer, in hay: UnsafeRawBufferPointer) -> Int? {
        guard let first = needle.first else { return 0 }
        guard let base = hay.baseAddress, needle.count <= hay.count else { return nil }
        let last = hay.count - needle.count
        var i = 0
        while i <= last {
            guard let p = memchr(base + i, Int32(first), last - i + 1) else { return nil }
            let at = UnsafeRawPointer(p) - base
            if memcmp(p, needle.baseAddress!, needle.count) == 0 { return at }
            i = at + 1
        }
        return nil
    }
}
