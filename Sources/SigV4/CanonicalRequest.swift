// The SigV4 canonical request and string to sign, shared by the verifier and the signer.
// https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
// https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html

import GatewayCore

public enum CanonicalRequest {
    public static let algorithm = "AWS4-HMAC-SHA256"
    /// SHA-256 of the empty string: the payload hash of bodiless requests (and of curl's).
    public static let emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// Each name and value decoded, then re-encoded with AWS UriEncode, sorted by name then
    /// value. Clients differ in how they escape (and in order), so only this normal form compares.
    /// `excluding` drops X-Amz-Signature from presigned URLs.
    public static func canonicalQuery(_ rawQuery: String, excluding: String? = nil) -> String {
        canonicalQuery(pairs: rawQueryPairs(rawQuery), excluding: excluding)
    }

    /// As above, from the pairs a `RequestHead` already split.
    static func canonicalQuery(pairs raw: [(name: String, value: String?)], excluding: String? = nil) -> String {
        // A name's canonical form, as each pair's name is compared in it.
        let excluded = excluding.map(canonicalComponent)
        var pairs: [(String, String)] = []
        pairs.reserveCapacity(raw.count)
        var length = 0
        for p in raw {
            let name = canonicalComponent(p.name)
            if name == excluded { continue }
            let value = canonicalComponent(p.value ?? "")
            length += name.utf8.count + value.utf8.count + 2
            pairs.append((name, value))
        }
        // Encoded forms are ASCII, so comparing UTF-8 bytes is the byte order AWS specifies.
        pairs.sort { a, b in
            if a.0 != b.0 { return a.0.utf8.lexicographicallyPrecedes(b.0.utf8) }
            return a.1.utf8.lexicographicallyPrecedes(b.1.utf8)
        }
        return String(unsafeUninitializedCapacity: max(0, length - 1)) { out in
            var n = 0
            // Checked writes: `length` counts exactly these bytes, and a miscount must stop here.
            func put(_ s: String) {
                var s = s
                s.withUTF8 { u in
                    precondition(n + u.count <= out.count)
                    _ = UnsafeMutableBufferPointer(rebasing: out[n...]).initialize(fromContentsOf: u)
                    n += u.count
                }
            }
            func put(_ c: UInt8) {
                precondition(n < out.count)
                out[n] = c
                n += 1
            }
            for (i, p) in pairs.enumerated() {
                if i > 0 { put(UInt8(ascii: "&")) }
                put(p.0)
                put(UInt8(ascii: "="))
                put(p.1)
            }
            return n
        }
    }

    /// A name or value decoded (a malformed escape: as sent) and re-encoded with UriEncode; one
    /// made only of unreserved characters is its own form and is kept as it is.
    static func canonicalComponent(_ raw: String) -> String {
        if isCanonicallyEncoded(raw) { return raw }
        return uriEncodeBytes(percentDecodeBytes(raw) ?? Array(raw.utf8), encodeSlash: true)
    }

    /// Whether decoding and re-encoding `raw` gives `raw` back: every byte unreserved, or a `%`
    /// with two upper-case hex digits of a byte that is not (a presigned URL's credential,
    /// `AK%2F2026…`, is already in its canonical form).
    static func isCanonicallyEncoded(_ raw: String) -> Bool {
        if let answer = raw.utf8.withContiguousStorageIfAvailable({ isCanonicallyEncoded($0) }) { return answer }
        return Array(raw.utf8).withUnsafeBufferPointer { isCanonicallyEncoded($0) }
    }

    private static func isCanonicallyEncoded(_ u: UnsafeBufferPointer<UInt8>) -> Bool {
        func hex(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var i = 0
        while i < u.count {
            let c = u[i]
            i += 1
            if isUnreserved(c) { continue }
            guard c == UInt8(ascii: "%"), i + 2 <= u.count, let hi = hex(u[i]), let lo = hex(u[i + 1]),
                !isUnreserved(hi << 4 | lo)
            else { return false }
            i += 2
        }
        return true
    }

    /// Trims the value and collapses runs of spaces, as the spec's Trimall does.
    public static func canonicalHeaderValue(_ v: String) -> String {
        var out = [UInt8]()
        var lastSpace = false
        for c in v.utf8 {
            if c == 0x20 || c == 0x09 {
                if !lastSpace && !out.isEmpty { out.append(0x20) }
                lastSpace = true
            } else {
                out.append(c)
                lastSpace = false
            }
        }
        if out.last == 0x20 { out.removeLast() }
        return String(decoding: out, as: UTF8.self)
    }

    /// "name:value\n" for each signed header, in the order given (already sorted by the client).
    /// Repeated headers join with ","; a signed header that is absent contributes an empty value,
    /// which then simply fails to match.
    public static func canonicalHeaders(_ headers: [(name: String, value: String)], signed: [String]) -> String {
        var out = ""
        for name in signed {
            let values = headers.filter { $0.name == name }.map { canonicalHeaderValue($0.value) }
            out += name + ":" + values.joined(separator: ",") + "\n"
        }
        return out
    }

    /// The canonical request is over the request's bytes: header values are `HeaderBytes`
    /// (a value's octets are signed as sent, whatever they are), so the URI, which is text, is
    /// turned into the same form and the whole is hashed as bytes in `stringToSign`.
    public static func build(
        method: String, canonicalURI: String, canonicalQuery: String, canonicalHeaders: String,
        signedHeaders: String, payloadHash: String
    ) -> String {
        method + "\n" + HeaderBytes.fromText(canonicalURI) + "\n" + canonicalQuery + "\n" + canonicalHeaders + "\n"
            + signedHeaders + "\n" + payloadHash
    }

    /// `stringToSign(…, canonicalRequest: build(…))` with the canonical request hashed part by
    /// part as it would be built, never built: what the verifier does on every signed request
    /// (the joined string and its byte copy cost more than the hash). Same bytes: every part but
    /// the URI is `HeaderBytes`, the URI its UTF-8 (`build`'s `fromText`).
    static func stringToSign(
        amzDate: String, scope: String, method: String, canonicalURI: String, canonicalQuery: String,
        canonicalHeaders: String, signedHeaders: String, payloadHash: String
    ) -> String {
        String(
            decoding: stringToSignBytes(
                amzDate: amzDate, scope: scope,
                canonicalRequestHash: canonicalRequestHash(
                    method: method, canonicalURI: canonicalURI, canonicalQuery: canonicalQuery,
                    canonicalHeaders: canonicalHeaders, signedHeaders: signedHeaders, payloadHash: payloadHash)),
            as: UTF8.self)
    }

    /// `Signer.signature(signingKey:stringToSign: stringToSign(…parts…))`, with the string to
    /// sign assembled as bytes, never as a String: the verifier's one call per signed request.
    static func signature(
        signingKey: [UInt8], amzDate: String, scope: String, method: String, canonicalURI: String,
        canonicalQuery: String, canonicalHeaders: String, signedHeaders: String, payloadHash: String
    ) -> String {
        let sts = stringToSignBytes(
            amzDate: amzDate, scope: scope,
            canonicalRequestHash: canonicalRequestHash(
                method: method, canonicalURI: canonicalURI, canonicalQuery: canonicalQuery,
                canonicalHeaders: canonicalHeaders, signedHeaders: signedHeaders, payloadHash: payloadHash))
        return hexEncode(HMAC.sha256(key: signingKey, data: sts))
    }

    /// SHA-256 of the canonical request `build` would make of these parts.
    private static func canonicalRequestHash(
        method: String, canonicalURI: String, canonicalQuery: String, canonicalHeaders: String,
        signedHeaders: String, payloadHash: String
    ) -> [UInt8] {
        var d = Digest(.sha256)
        func bytes(_ part: String, text: Bool = false) {
            if text || HeaderBytes.isASCII(part) {
                var part = part
                part.withUTF8 { d.update(UnsafeRawBufferPointer($0)) }
            } else {
                d.update(HeaderBytes.encode(part))
            }
        }
        let newline: [UInt8] = [0x0A]
        bytes(method)
        d.update(newline)
        bytes(canonicalURI, text: true)
        d.update(newline)
        bytes(canonicalQuery)
        d.update(newline)
        bytes(canonicalHeaders)
        d.update(newline)
        bytes(signedHeaders)
        d.update(newline)
        bytes(payloadHash)
        return d.finalize()
    }

    /// "AWS4-HMAC-SHA256\n<amzDate>\n<scope>\n<hex hash>" as UTF-8.
    private static func stringToSignBytes(amzDate: String, scope: String, canonicalRequestHash: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(algorithm.utf8.count + amzDate.utf8.count + scope.utf8.count + 3 + 64)
        func append(_ s: String) {
            var s = s
            s.withUTF8 { out.append(contentsOf: $0) }
            out.append(0x0A)
        }
        append(algorithm)
        append(amzDate)
        append(scope)
        appendHex(canonicalRequestHash, to: &out)
        return out
    }

    public static func stringToSign(amzDate: String, scope: String, canonicalRequest: String) -> String {
        algorithm + "\n" + amzDate + "\n" + scope + "\n"
            + hexEncode(Digest.hash(.sha256, HeaderBytes.encode(canonicalRequest)))
    }

    /// The raw path is the canonical URI: every client signs the path exactly as it sends it,
    /// so re-encoding or normalising here would only break valid signatures (CLIENTS.md).
    static func canonicalURI(rawPath: String) -> String { rawPath.isEmpty ? "/" : rawPath }
}
