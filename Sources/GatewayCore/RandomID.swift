/// Identifiers that must never collide and need not be secret: blob names, multipart upload
/// ids, provider-side object names. 128 random bits as 32 lowercase hex digits.
public enum RandomID {
    public static func make() -> String {
        var g = SystemRandomNumberGenerator()
        return hex(g.next()) + hex(g.next())
    }

    private static func hex(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}
