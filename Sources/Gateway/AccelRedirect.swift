import GatewayCore

/// A GET of a filesystem zone's blob answered by nginx: the worker decides everything (auth,
/// the copy, the headers) and answers with `X-Accel-Redirect` to the zone's `internal` nginx
/// location (`NginxLocations`), which sends the file, ranges included (docs/ARCHITECTURE.md,
/// "Filesystem-zone GETs served by nginx").
///
/// nginx drops the upstream's headers on such a redirect, so every header the worker would
/// have sent travels in one, `X-S3gw-Headers`, which nginx/s3gw.js unpacks onto the answer.
enum AccelRedirect {
    /// Where the internal locations live; `<prefix><zone>/<accelerated path>`.
    static let locationPrefix = "/_s3gw/zones/"
    /// The FastCGI param nginx's fallback location (`@s3gw_stream`) sets: the blob vanished
    /// between the decision and nginx's open (or the request addressed an internal location
    /// itself), and the worker answers this one by streaming.
    static let noAccelParam = "S3GW_NO_ACCEL"
    /// Set by the nginx configs that have the zones' internal locations: a gateway behind an
    /// older config never redirects (nginx would hand the redirect back to it, in a loop).
    static let acceptParam = "S3GW_ACCEL"
    static let packedHeader = "X-S3gw-Headers"

    /// Headers nginx makes itself for the file it sends: theirs must be the only ones. Its
    /// range filter sends `Accept-Ranges` on a 200 only; the worker sends it on a 206 too.
    private static func nginxOwn(_ name: String, status: Int) -> Bool {
        switch name.lowercased() {
        case "content-length", "content-range", "server": true
        case "accept-ranges": status != 206
        default: false
        }
    }

    /// Whether the request, as sent, is one nginx answers exactly as the worker would: a GET
    /// with no condition (nginx's not_modified filter would judge them against the file's mtime),
    /// no part number, and at most one range in a form nginx's range filter reads as
    /// `ByteRange.parse` did (`ranged`: it gave a range).
    static func requestQualifies(_ r: S3Request, ranged: Bool) -> Bool {
        guard r.method == "GET", r.accelAllowed, r.query["partNumber"] == nil else { return false }
        for h in ["if-match", "if-none-match", "if-modified-since", "if-unmodified-since", "if-range"]
        where r.header(h) != nil {
            return false
        }
        guard let range = r.header("range") else { return true }
        return ranged && isCanonical(range)
    }

    /// `bytes=N-M`, `bytes=N-` or `bytes=-N`: no spaces, no list, digits nginx and Int64 both read.
    static func isCanonical(_ range: String) -> Bool {
        guard range.hasPrefix("bytes=") else { return false }
        let spec = range.utf8.dropFirst(6)
        let parts = spec.split(separator: UInt8(ascii: "-"), maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, !(parts[0].isEmpty && parts[1].isEmpty) else { return false }
        return parts.allSatisfy { p in
            p.count <= 18 && p.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
        }
    }

    /// The redirect for the copy a streamed read would try first, when nginx can send it: one
    /// blob in an accelerated zone holding exactly the object's bytes (a multipart primary
    /// of several blobs streams), and an answer of `length` bytes long enough to pay for the
    /// redirect (`accelMinSize`: nginx drops its kept FastCGI connection on a redirect, and a
    /// new one costs more than streaming a small answer). nil: stream.
    static func target(_ copies: ObjectCopies, size: Int64, length: Int64, _ ctx: GatewayContext) -> (
        zone: String, uri: String
    )? {
        guard ctx.accelRedirect, length >= ctx.accelMinSize, let copy = copies.candidates(ctx).first,
            copy.blobs.count == 1,
            copy.blobs[0].size == size,
            let zone = try? ctx.zone(copy.zone) as? any AcceleratedZone,
            let path = zone.acceleratedPath(backendBucket: copy.backendBucket, blob: copy.blobs[0].blob)
        else { return nil }
        return (copy.zone, locationPrefix + copy.zone + "/" + path)
    }

    /// What goes to nginx instead of `headers`: the redirect, the headers and the planned
    /// length (for the request's own records; nginx ignores it). An answer whose headers are
    /// all in `plainNames` (a plain object: no user metadata, tags, CORS or response-* override)
    /// goes to the zone's plain location, which puts them back with `add_header` from the
    /// upstream's own (and Content-Type, which nginx keeps on a redirect): no njs filter runs,
    /// which costs nginx more per answer than the rest of the redirect. Any other answer packs
    /// them into `X-S3gw-Headers` for nginx/s3gw.js.
    static func head(_ uri: String, status: Int, _ headers: [Header]) -> [Header] {
        let kept = headers.filter { !nginxOwn($0.name, status: status) }
        let length = headers.filter { $0.name == "Content-Length" }
        if let plain = plainHeaders(kept), uri.hasPrefix(locationPrefix) {
            return [Header("X-Accel-Redirect", plainLocationPrefix + uri.dropFirst(locationPrefix.count))] + plain
                + length
        }
        return [Header("X-Accel-Redirect", uri), Header(packedHeader, pack(kept))] + length
    }

    /// The zones' plain locations (`NginxLocations`): `<prefix><zone>/<accelerated path>`.
    static let plainLocationPrefix = "/_s3gw/plain/"

    /// Headers the plain locations put back, each from the upstream header of the same name
    /// (`$upstream_http_…`), except Accept-Ranges, which nginx would keep itself on a 200 (it
    /// sends its own there): it travels as `X-S3gw-Accept-Ranges` (the worker sends it on a 206
    /// only, `nginxOwn`). Content-Type is nginx's to keep on a redirect.
    static let plainNames: [String: String] = [
        "etag": "ETag", "last-modified": "Last-Modified", "content-type": "Content-Type",
        "accept-ranges": "X-S3gw-Accept-Ranges", "x-amz-request-id": "x-amz-request-id",
        "x-amz-id-2": "x-amz-id-2", "x-amz-version-id": "x-amz-version-id",
        "x-amz-replication-status": "x-amz-replication-status", "x-s3gw-replicas": "x-s3gw-replicas",
        "x-s3gw-zone": "x-s3gw-zone",
    ]

    /// `headers` as the plain location takes them, or nil when one is not for it: a name not in
    /// `plainNames` or sent twice, a value nginx would not pass through unchanged (anything but
    /// visible ASCII with inner spaces: nginx trims a value's edges), a Content-Type with
    /// parameters (nginx rebuilds `; charset=`).
    static func plainHeaders(_ headers: [Header]) -> [Header]? {
        var seen = Set<String>()
        var out: [Header] = []
        out.reserveCapacity(headers.count)
        for h in headers {
            let name = h.name.lowercased()
            guard let sent = plainNames[name], seen.insert(name).inserted, isPlainValue(h.value),
                name != "content-type" || !h.value.utf8.contains(UInt8(ascii: ";"))
            else { return nil }
            out.append(Header(sent, h.value))
        }
        return out
    }

    /// Visible ASCII and inner spaces only, not empty.
    static func isPlainValue(_ value: String) -> Bool {
        let u = value.utf8
        guard let first = u.first, let last = u.last, first != 0x20, last != 0x20 else { return false }
        return u.allSatisfy { $0 >= 0x20 && $0 <= 0x7E }
    }

    /// `name=value&name=value`, percent-encoded byte for byte where needed (values as they go
    /// on the wire: `HeaderBytes.encode`): no `&` or `=` is left to confuse the split.
    static func pack(_ headers: [Header]) -> String {
        var out: [UInt8] = []
        for h in headers {
            // Only HTTP token names: nginx/s3gw.js sets each name as it comes, so a stored name
            // holding a line break or a colon would otherwise write a header line of its own.
            guard isToken(h.name) else { continue }
            if !out.isEmpty { out.append(UInt8(ascii: "&")) }
            percentEncode(Array(h.name.utf8), into: &out)
            out.append(UInt8(ascii: "="))
            // As FastCGIExchange.sendHead: never a CR or LF byte (nginx/s3gw.js would restore it).
            percentEncode(HeaderBytes.encode(h.value).filter { $0 != 0x0D && $0 != 0x0A }, into: &out)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// RFC 9110 token: the characters a header name may have.
    static func isToken(_ name: String) -> Bool {
        !name.isEmpty
            && name.utf8.allSatisfy { b in
                switch b {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"):
                    true
                default: "!#$%&'*+-.^_`|~".utf8.contains(b)
                }
            }
    }

    /// Escapes only what the split or nginx would not keep: `%`, `&`, `=`, space (nginx trims a
    /// header value's edges), control bytes and every byte above 0x7E. Most values (ETags,
    /// dates, ids) then need no decoding at all in nginx/s3gw.js, which costs nginx per byte.
    private static func percentEncode(_ bytes: [UInt8], into out: inout [UInt8]) {
        let hex = Array("0123456789ABCDEF".utf8)
        for b in bytes {
            switch b {
            case UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "="):
                out += [UInt8(ascii: "%"), hex[Int(b >> 4)], hex[Int(b & 15)]]
            case 0x21...0x7E:
                out.append(b)
            default:
                out += [UInt8(ascii: "%"), hex[Int(b >> 4)], hex[Int(b & 15)]]
            }
        }
    }
}
