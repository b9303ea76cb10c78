/// HTTP field values are octets, not text (RFC 9110 §5.5): besides ASCII they may carry any byte
/// (obs-text), and user metadata must come back exactly as it was sent. Inside the gateway a
/// header value is therefore a String with one Unicode scalar per byte, U+0000–U+00FF (the
/// ISO-8859-1 decoding, which loses nothing); ASCII values read the same either way. Text that
/// becomes a header (a query parameter, a form field) enters as its UTF-8 bytes (`fromText`).
public enum HeaderBytes {
    /// Bytes off the wire → header value.
    public static func decode<C: Collection<UInt8>>(_ bytes: C) -> String {
        if bytes.allSatisfy({ $0 < 0x80 }) { return String(decoding: bytes, as: UTF8.self) }
        var scalars = String.UnicodeScalarView()
        for b in bytes { scalars.append(Unicode.Scalar(b)) }
        return String(scalars)
    }

    /// Header value → bytes for the wire. A scalar above U+00FF cannot have come off the wire
    /// (only from text not passed through `fromText`); it goes out as its UTF-8 bytes rather
    /// than being lost.
    public static func encode(_ value: String) -> [UInt8] {
        if isASCII(value) { return Array(value.utf8) }
        var out: [UInt8] = []
        out.reserveCapacity(value.unicodeScalars.count)
        for s in value.unicodeScalars {
            if s.value <= 0xFF { out.append(UInt8(s.value)) } else { out += Array(String(s).utf8) }
        }
        return out
    }

    /// Text as a header value: its UTF-8 bytes, one scalar each.
    public static func fromText(_ text: String) -> String { decode(Array(text.utf8)) }

    /// A header value read as UTF-8 text (a copy source, a tag set); nil when its bytes are not
    /// UTF-8.
    public static func text(_ value: String) -> String? {
        if isASCII(value) { return value }
        return String(validating: encode(value), as: UTF8.self)
    }

    /// Whether `s` is all ASCII, eight bytes at a time over its contiguous UTF-8 (the byte-wise
    /// `utf8.allSatisfy` cost more than hashing the string: every request checks several).
    public static func isASCII(_ s: String) -> Bool {
        if let ascii = s.utf8.withContiguousStorageIfAvailable({ isASCII($0) }) { return ascii }
        return s.utf8.allSatisfy { $0 < 0x80 }
    }

    /// Whether every byte of `bytes` is below 0x80.
    public static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let raw = UnsafeRawPointer(base)
        var i = 0
        var any: UInt64 = 0
        while i + 8 <= bytes.count {
            any |= raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < bytes.count {
            any |= UInt64(bytes[i])
            i += 1
        }
        return any & 0x8080_8080_8080_8080 == 0
    }

    /// The value's size on the wire.
    public static func byteCount(_ value: String) -> Int { encode(value).count }
}
