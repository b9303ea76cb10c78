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
        if value.utf8.allSatisfy({ $0 < 0x80 }) { return Array(value.utf8) }
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
        if value.utf8.allSatisfy({ $0 < 0x80 }) { return value }
        return String(validating: encode(value), as: UTF8.self)
    }

    /// The value's size on the wire.
    public static func byteCount(_ value: String) -> Int { encode(value).count }
}
