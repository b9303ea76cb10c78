/// Decimal digits appended to a byte buffer, with no String made on the way: the request path's
/// encoders (the operations log's lines, the audit chain's canonical bytes, HTTP dates) write
/// numbers straight into the bytes they build.
public enum DecimalBytes {
    /// `String(n)`'s bytes, zero-padded to at least `width` digits (after the sign).
    public static func append(_ n: Int64, width: Int = 1, to out: inout [UInt8]) {
        if n < 0 { out.append(UInt8(ascii: "-")) }
        let m = n.magnitude
        var d: UInt64 = 1
        for _ in 1..<max(1, width) { d *= 10 }
        while m / d >= 10 { d *= 10 }
        while d > 0 {
            out.append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: m / d % 10))
            d /= 10
        }
    }
}
