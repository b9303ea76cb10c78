import GatewayCore

/// The parts of an HTTP request that authentication needs, exactly as they came off the wire.
/// Signatures are computed over the raw URI, so nothing here decodes or normalises the path.
public struct RequestHead: Sendable {
    public var method: String
    /// Exactly as received: "/bucket/a%20b?list-type=2&prefix=x". The parts below are split
    /// off once here: authentication, routing and the handlers each read them, several times.
    public var rawURI: String { didSet { split() } }
    /// Names lowercased, values with outer whitespace trimmed, order and duplicates kept.
    public var headers: [(name: String, value: String)]
    /// The URI up to "?".
    public private(set) var rawPath: String
    /// The URI after "?", "" when there is none.
    public private(set) var rawQuery: String
    /// The query's "name[=value]" pairs, undecoded; value is nil when there was no "="
    /// (SigV2 tells the two apart).
    public private(set) var rawQueryPairs: [(name: String, value: String?)]
    /// Split on "&" and the first "=", percent-decoded ('+' stays '+', as S3 does); "uploads"
    /// and "uploads=" both give "". A malformed escape leaves that part undecoded.
    public private(set) var queryItems: [(name: String, value: String)]

    public init(method: String, rawURI: String, headers: [(name: String, value: String)]) {
        self.method = method
        self.rawURI = rawURI
        self.headers = headers.map { (name: lowercasedName($0.name), value: trimHTTPWhitespace($0.value)) }
        rawPath = ""
        rawQuery = ""
        rawQueryPairs = []
        queryItems = []
        split()
    }

    private mutating func split() {
        // Byte scans, not Character scans.
        if let q = rawURI.utf8.firstIndex(of: UInt8(ascii: "?")) {
            rawPath = String(rawURI[..<q])
            rawQuery = String(rawURI[rawURI.index(after: q)...])
        } else {
            rawPath = rawURI
            rawQuery = ""
        }
        rawQueryPairs = SigV4.rawQueryPairs(rawQuery)
        queryItems = rawQueryPairs.map { pair in
            (name: percentDecode(pair.name) ?? pair.name, value: percentDecode(pair.value ?? "") ?? (pair.value ?? ""))
        }
    }

    /// The first header with this (lowercase) name.
    public func header(_ lowercasedName: String) -> String? {
        headers.first { $0.name == lowercasedName }?.value
    }

    /// The first query parameter with this (decoded) name.
    public func queryItem(_ name: String) -> String? {
        queryItems.first { $0.name == name }?.value
    }
}

/// Raw "name[=value]" pairs; value is nil when there was no "=" (SigV2 tells the two apart).
/// One pass over the contiguous UTF-8 bytes: the String index walk this replaced was the
/// largest single cost of a presigned GET's authentication.
func rawQueryPairs(_ query: String) -> [(name: String, value: String?)] {
    guard !query.isEmpty else { return [] }
    var query = query
    return query.withUTF8 { u in
        // Cutting at ASCII '&' and '=' keeps every piece valid UTF-8.
        func text(_ from: Int, _ to: Int) -> String {
            String(decoding: UnsafeBufferPointer(rebasing: u[from..<to]), as: UTF8.self)
        }
        var pairs: [(name: String, value: String?)] = []
        var start = 0
        while start < u.count {
            var end = start
            var eq = -1
            while end < u.count, u[end] != UInt8(ascii: "&") {
                if eq < 0, u[end] == UInt8(ascii: "=") { eq = end }
                end += 1
            }
            if start < end {
                pairs.append(
                    eq < 0 ? (name: text(start, end), value: nil) : (name: text(start, eq), value: text(eq + 1, end)))
            }
            start = end + 1
        }
        return pairs
    }
}

/// A header name in lower case; one that already is (the FastCGI params' are) is kept as it
/// is rather than copied.
func lowercasedName(_ name: String) -> String {
    name.utf8.contains { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") || $0 >= 0x80 } ? name.lowercased() : name
}

func trimHTTPWhitespace(_ s: String) -> String {
    func isSpace(_ c: UInt8?) -> Bool { c == 0x20 || c == 0x09 || c == 0x0d || c == 0x0a }
    // The common case, nothing to trim, allocates nothing.
    if !isSpace(s.utf8.first) && !isSpace(s.utf8.last) { return s }
    let u = Array(s.utf8)
    var lo = 0
    var hi = u.count
    while lo < hi, u[lo] == 0x20 || u[lo] == 0x09 || u[lo] == 0x0d || u[lo] == 0x0a { lo += 1 }
    while hi > lo, u[hi - 1] == 0x20 || u[hi - 1] == 0x09 || u[hi - 1] == 0x0d || u[hi - 1] == 0x0a { hi -= 1 }
    if lo == 0 && hi == u.count { return s }
    return String(decoding: u[lo..<hi], as: UTF8.self)
}

/// Decodes %XX escapes into bytes; nil on a truncated or non-hex escape.
func percentDecodeBytes(_ s: String) -> [UInt8]? {
    let u = Array(s.utf8)
    var out = [UInt8]()
    out.reserveCapacity(u.count)
    var i = 0
    while i < u.count {
        if u[i] == UInt8(ascii: "%") {
            guard i + 2 < u.count, let hi = hexValue(u[i + 1]), let lo = hexValue(u[i + 2]) else { return nil }
            out.append(hi << 4 | lo)
            i += 3
        } else {
            out.append(u[i])
            i += 1
        }
    }
    return out
}

/// nil on malformed escapes or bytes that are not UTF-8; never turns '+' into a space.
public func percentDecode(_ s: String) -> String? {
    guard ByteSearch.contains(s, UInt8(ascii: "%")) else { return s }
    guard let bytes = percentDecodeBytes(s) else { return nil }
    return String(validating: bytes, as: UTF8.self)
}

private let upperHex: [UInt8] = Array("0123456789ABCDEF".utf8)

@inline(__always)
func isUnreserved(_ c: UInt8) -> Bool {
    switch c {
    case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
        UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
        UInt8(ascii: "~"):
        return true
    default:
        return false
    }
}

func uriEncodeBytes<C: Collection<UInt8>>(_ bytes: C, encodeSlash: Bool) -> String {
    var out = [UInt8]()
    out.reserveCapacity(bytes.count * 3)
    for c in bytes {
        if isUnreserved(c) || (c == UInt8(ascii: "/") && !encodeSlash) {
            out.append(c)
        } else {
            out.append(UInt8(ascii: "%"))
            out.append(upperHex[Int(c >> 4)])
            out.append(upperHex[Int(c & 0x0f)])
        }
    }
    return String(decoding: out, as: UTF8.self)
}

/// AWS `UriEncode`: everything but A-Za-z0-9-_.~ (and '/' when `encodeSlash` is false) becomes
/// %XX with uppercase hex.
/// https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
public func uriEncode(_ s: String, encodeSlash: Bool) -> String {
    uriEncodeBytes(s.utf8, encodeSlash: encodeSlash)
}
