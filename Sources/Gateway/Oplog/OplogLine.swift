import GatewayCore

/// A finished request's trace as one line of the operations log: a JSON object with the fields
/// docs/OBSERVABILITY.md lists, then `\n`. Written by hand, not by JSONEncoder: it runs on every
/// request's thread, and its escaping must hold against whatever a client puts in a key or a
/// user agent (quotes, backslashes, newlines, control characters), so one line is always one
/// record. Carries no secret, signature, token, query string or header other than the user agent:
/// the trace holds none.
public enum OplogLine {
    public static func encode(_ t: RequestTrace) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(320 + (t.key?.utf8.count ?? 0) + t.userAgent.utf8.count)
        out.append(UInt8(ascii: "{"))
        field("time", &out)
        out.append(UInt8(ascii: "\""))
        HTTPDate.iso8601(t.started, into: &out)
        out.append(UInt8(ascii: "\""))
        optional("request_id", t.requestId, &out)
        optional("origin", t.origin.rawValue, &out)
        optional("tenant", t.tenant, &out)
        optional("access_key_id", t.accessKey, &out)
        optional("operation", t.operation, &out)
        optional("method", t.method, &out)
        optional("bucket", t.bucket, &out)
        optional("bucket_tenant", t.bucketTenant, &out)
        optional("key", t.key, &out)
        field("status", &out)
        number(Int64(t.status), &out)
        optional("error_code", t.errorCode, &out)
        optional("auth_failure", t.authFailure, &out)
        field("bytes_in", &out)
        number(t.bytesIn, &out)
        field("bytes_out", &out)
        number(t.bytesOut, &out)
        field("latency_ms", &out)
        milliseconds(t.latency, &out)
        field("zones", &out)
        out.append(UInt8(ascii: "["))
        for (i, z) in t.zones.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            string(z, &out)
        }
        out.append(UInt8(ascii: "]"))
        optional("client_ip", t.clientAddress, &out)
        optional("user_agent", t.userAgent, &out)
        out.append(UInt8(ascii: "}"))
        out.append(UInt8(ascii: "\n"))
        return out
    }

    /// `"name":` (after a comma unless it is the object's first).
    private static func field(_ name: StaticString, _ out: inout [UInt8]) {
        if out.last != UInt8(ascii: "{") { out.append(UInt8(ascii: ",")) }
        out.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { out.append(contentsOf: $0) }
        out.append(UInt8(ascii: "\""))
        out.append(UInt8(ascii: ":"))
    }

    /// A field left out when unknown (nil or empty).
    private static func optional(_ name: StaticString, _ value: String?, _ out: inout [UInt8]) {
        guard let value, !value.isEmpty else { return }
        field(name, &out)
        string(value, &out)
    }

    private static func number(_ n: Int64, _ out: inout [UInt8]) { DecimalBytes.append(n, to: &out) }

    /// Seconds as milliseconds with three decimals (`12.345`).
    private static func milliseconds(_ seconds: Double, _ out: inout [UInt8]) {
        let micros = seconds.isFinite ? Int64(max(0, min(seconds, 1e9)) * 1_000_000 + 0.5) : 0
        number(micros / 1000, &out)
        out.append(UInt8(ascii: "."))
        let frac = micros % 1000
        if frac < 100 { out.append(UInt8(ascii: "0")) }
        if frac < 10 { out.append(UInt8(ascii: "0")) }
        number(frac, &out)
    }

    private static let hex = Array("0123456789abcdef".utf8)

    /// A JSON string (RFC 8259): `"` and `\` escaped, every control character (C0, DEL, C1) as an
    /// escape, so no byte of a hostile key or user agent can end the line or reach a terminal
    /// raw; U+2028 and U+2029 escaped too (JavaScript reads them as line ends). Everything else
    /// is UTF-8 as it is: a Swift string is always valid Unicode (bytes that were not UTF-8
    /// were replaced by U+FFFD when the request was read).
    public static func string(_ s: String, _ out: inout [UInt8]) {
        var s = s
        // A native string's bytes are contiguous: no copy on the request path.
        s.withUTF8 { escape($0, &out) }
    }

    private static func escape(_ u: UnsafeBufferPointer<UInt8>, _ out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var i = 0
        // Bytes that need no look are copied a run at a time, not one append each.
        var run = 0
        while i < u.count {
            let c = u[i]
            if isPlain(c) {
                i += 1
                continue
            }
            if run < i { out.append(contentsOf: UnsafeBufferPointer(rebasing: u[run..<i])) }
            switch c {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): escaped(c, &out)
            case 0x0A: escaped(UInt8(ascii: "n"), &out)
            case 0x0D: escaped(UInt8(ascii: "r"), &out)
            case 0x09: escaped(UInt8(ascii: "t"), &out)
            case 0..<0x20, 0x7F: unicode(0, c, &out)
            // C1 controls (U+0080…U+009F, `C2 80`…`C2 9F`): a terminal acts on them too.
            case 0xC2 where i + 1 < u.count && u[i + 1] >= 0x80 && u[i + 1] <= 0x9F:
                unicode(0, u[i + 1], &out)
                i += 1
            case 0xE2 where i + 2 < u.count && u[i + 1] == 0x80 && (u[i + 2] == 0xA8 || u[i + 2] == 0xA9):
                unicode(0x20, 0x20 + u[i + 2] - 0xA0, &out)
                i += 2
            default: out.append(c)
            }
            i += 1
            run = i
        }
        if run < u.count { out.append(contentsOf: UnsafeBufferPointer(rebasing: u[run..<u.count])) }
        out.append(UInt8(ascii: "\""))
    }

    /// A byte copied as it is without looking further: printable ASCII but `"` and `\`, and
    /// bytes of 0xA0 and above but the lead bytes of C1 controls (C2) and of U+2028/U+2029 (E2).
    /// The rest take `escape`'s switch (0x80…0x9F there too: continuation bytes, copied).
    @inline(__always)
    private static func isPlain(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), 0xC2, 0xE2: false
        case 0x20..<0x7F, 0xA0...0xFF: true
        default: false
        }
    }

    /// `\c`.
    private static func escaped(_ c: UInt8, _ out: inout [UInt8]) {
        out.append(UInt8(ascii: "\\"))
        out.append(c)
    }

    /// `\uHHLL`.
    private static func unicode(_ high: UInt8, _ low: UInt8, _ out: inout [UInt8]) {
        out.append(UInt8(ascii: "\\"))
        out.append(UInt8(ascii: "u"))
        out.append(hex[Int(high >> 4)])
        out.append(hex[Int(high & 0xF)])
        out.append(hex[Int(low >> 4)])
        out.append(hex[Int(low & 0xF)])
    }

    /// `s` as `string` writes it, quotes included: what a filter looks for in a raw line.
    public static func quoted(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        string(s, &out)
        return out
    }
}
