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

    /// Whether `bytes` start with `prefix`: one `memcmp`, where the generic `starts(with:)`
    /// walks both sequences a byte at a time through their iterators.
    public static func hasPrefix(_ bytes: UnsafeBufferPointer<UInt8>, _ prefix: StaticString) -> Bool {
        // `withUTF8Buffer`, not `utf8Start`: a one-scalar literal is stored without a pointer.
        prefix.withUTF8Buffer { p in
            guard bytes.count >= p.count else { return false }
            guard let base = bytes.baseAddress, let start = p.baseAddress else { return p.isEmpty }
            return memcmp(base, start, p.count) == 0
        }
    }

    /// Whether `bytes` are exactly `text`'s.
    public static func equals(_ bytes: UnsafeBufferPointer<UInt8>, _ text: StaticString) -> Bool {
        text.withUTF8Buffer { bytes.count == $0.count } && hasPrefix(bytes, text)
    }

    /// Whether the UTF-8 of `s` starts with `prefix` (a native string's bytes, no copy).
    public static func hasPrefix(_ s: String, _ prefix: StaticString) -> Bool {
        var s = s
        return s.withUTF8 { hasPrefix($0, prefix) }
    }

    /// Whether the UTF-8 of `s` holds `byte` (memchr).
    public static func contains(_ s: String, _ byte: UInt8) -> Bool {
        var s = s
        return s.withUTF8 { u in u.baseAddress.map { memchr($0, Int32(byte), u.count) != nil } ?? false }
    }
}
