import GatewayCore
import Logging
import S3Protocol
import SigV4

extension Handlers {
    /// GET and HEAD /bucket/key — https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html
    static func getObject(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        try UnsupportedFeatures.check(r, .getObject)
        let sse = try sseRequest(r, .getObject, ctx)
        let (b, o): (BucketRecord, ObjectRecord)
        do {
            (b, o) = try ownedObject(r, ctx)
        } catch let e as S3Error where e.code == .noSuchKey && e.headers.isEmpty {
            // A bucket still being migrated may get the key from its source first (unless the
            // client deleted it here: a delete marker is the answer then).
            guard try readThrough(r, ctx, logger) else { throw e }
            var fresh = r
            fresh.latestObject = nil  // the router's read predates the copy
            (b, o) = try ownedObject(fresh, ctx)
            // The router decided without the object (s3:ExistingObjectTag): again, with it.
            if decisionReadsObjects(b) {
                try Authorization.require(fresh, "s3:GetObject", bucket: b, key: o.key, object: o)
            }
        }
        // An encrypted object's data key (its SSE-C key checked), before anything is answered.
        // A HEAD of an SSE-S3 / SSE-KMS object needs no key (as S3's HEAD calls no KMS: a
        // disabled key's object still answers HEAD, its GET is refused); SSE-C's key is
        // checked on HEAD too.
        let sealed: ObjectEncryption?
        let answer: SSEAnswer?
        if r.method == "HEAD", let e = try SSEEnvelope.decode(o.sse), e.mode != .customer {
            try SSERequest.checkCustomerKey(sse.customerKey, storedSSE: o.sse)
            sealed = nil
            answer = ObjectEncryption.answer(e, tenant: b.tenant, customerKeyMD5: nil, ctx.keys)
        } else {
            sealed = try ObjectEncryption.forRead(o, customerKey: sse.customerKey, tenant: b.tenant, ctx.keys)
            answer = sealed?.answer
        }
        if try Conditions.check(r, etag: o.etag, lastModified: o.lastModified) == .notModified {
            var response = notModified(o)
            response.headers += answer?.headers ?? []
            response.headers += versionHeaders(b, o)
            return response
        }

        var headers = [
            Header("ETag", "\"\(o.etag)\""),
            Header("Last-Modified", HTTPDate.rfc1123(o.lastModified)),
            Header("Accept-Ranges", "bytes"),
            Header("Content-Type", o.contentType),
        ]
        headers += o.headers
        headers += answer?.headers ?? []
        headers += versionHeaders(b, o)
        if !o.tags.isEmpty { headers.append(Header("x-amz-tagging-count", String(o.tags.count))) }
        headers += lockHeaders(o, r, bucket: b)
        // response-* query parameters (text, percent-decoded) override what the object stored.
        for (param, header) in responseOverrides {
            if let v = r.query[param] {
                headers.removeAll { $0.name.lowercased() == header.lowercased() }
                headers.append(Header(header, HeaderBytes.fromText(v)))
            }
        }

        var offset: Int64 = 0
        var length = o.size
        var status = 200
        var ranged = false
        if let part = try PartRange.parse(r, o) {
            offset = part.range.lowerBound
            length = part.range.upperBound - part.range.lowerBound
            if length > 0 {
                status = 206
                headers.append(Header("Content-Range", "bytes \(offset)-\(offset + length - 1)/\(o.size)"))
            }
            if let count = part.partsCount { headers.append(Header("x-amz-mp-parts-count", String(count))) }
        } else if let rangeHeader = r.header("range"), let range = try ByteRange.parse(rangeHeader, size: o.size) {
            offset = range.lowerBound
            length = range.upperBound - range.lowerBound + 1
            status = 206
            ranged = true
            headers.append(Header("Content-Range", "bytes \(range.lowerBound)-\(range.upperBound)/\(o.size)"))
        } else if r.header("x-amz-checksum-mode")?.uppercased() == "ENABLED" {
            for (alg, value) in o.checksums.sorted(by: { $0.key < $1.key }) {
                if let a = ChecksumAlgorithm(rawValue: alg) { headers.append(Header(a.headerName, value)) }
            }
            if let value = o.checksums.values.first {
                headers.append(Header("x-amz-checksum-type", ChecksumType(storedValue: value).rawValue))
            }
        }
        headers += expirationHeaders(b, o)
        headers.append(Header("Content-Length", String(length)))
        let copies = ObjectCopies(o, in: b, ctx)
        if r.method == "HEAD" || length == 0 {
            let zone = copies.candidates(ctx).first?.zone ?? o.zone
            return S3Response(status: status, headers: headers + Replication.headers(o, servedFrom: zone))
        }
        // nginx sends a plain copy's file itself when it would answer exactly as streaming does.
        if sealed == nil, AccelRedirect.requestQualifies(r, ranged: ranged),
            let accel = AccelRedirect.target(copies, size: o.size, length: length, ctx)
        {
            return S3Response(
                status: status, headers: headers + Replication.headers(o, servedFrom: accel.zone),
                accelRedirect: accel.uri)
        }
        let (zone, reader): (String, any ByteSource)
        if let sealed {
            (zone, reader) = try sealed.reader(o, offset: offset, length: length, copies: copies, ctx)
        } else {
            (zone, reader) = try copies.open(offset: offset, length: length, ctx)
        }
        return S3Response(
            status: status, headers: headers + Replication.headers(o, servedFrom: zone), body: .stream(reader))
    }

    /// 304 carries what a 200 would have said about the representation and no body:
    /// RFC 9110 §15.4.5 (ETag, Cache-Control, Expires; Date comes from nginx) and, as S3 sends
    /// it, Last-Modified. No Content-Length: it would have to be the object's size.
    static func notModified(_ o: ObjectRecord) -> S3Response {
        var headers = [Header("ETag", "\"\(o.etag)\""), Header("Last-Modified", HTTPDate.rfc1123(o.lastModified))]
        headers += o.headers.filter { $0.name == "cache-control" || $0.name == "expires" }
        return S3Response(status: 304, headers: headers)
    }

    static let responseOverrides: [(String, String)] = [
        ("response-content-type", "Content-Type"),
        ("response-content-language", "Content-Language"),
        ("response-expires", "Expires"),
        ("response-cache-control", "Cache-Control"),
        ("response-content-disposition", "Content-Disposition"),
        ("response-content-encoding", "Content-Encoding"),
    ]
}

/// Conditional request headers, with S3's precedence:
/// https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-requests.html
enum Conditions {
    enum Outcome { case proceed, notModified }

    /// Throws 412 when a precondition fails; `.notModified` when the client's copy is current.
    static func check(_ r: S3Request, etag: String, lastModified: Double) throws(S3Error) -> Outcome {
        let modified = lastModified.rounded(.down)
        let ifMatch = r.header("if-match")
        if let ifMatch {
            if !matches(ifMatch, etag) { throw S3Error(.preconditionFailed, extra: [("Condition", "If-Match")]) }
        } else if let s = r.header("if-unmodified-since"), let t = HTTPDate.parseHTTP(s).map(Double.init), modified > t
        {
            throw S3Error(.preconditionFailed, extra: [("Condition", "If-Unmodified-Since")])
        }
        if let inm = r.header("if-none-match") {
            if matches(inm, etag) { return .notModified }
        } else if let s = r.header("if-modified-since"), let t = HTTPDate.parseHTTP(s).map(Double.init), modified <= t {
            return .notModified
        }
        return .proceed
    }

    /// `*`, or a comma-separated list of quoted or bare ETags.
    static func matches(_ header: String, _ etag: String) -> Bool {
        for part in header.split(separator: ",") {
            var t = part.trimmingCharacters(in: .whitespaces)
            if t == "*" { return true }
            if t.hasPrefix("W/") { t.removeFirst(2) }
            if t.hasPrefix("\"") && t.hasSuffix("\"") && t.count >= 2 { t = String(t.dropFirst().dropLast()) }
            if t == etag { return true }
        }
        return false
    }
}

/// `?partNumber=N` on GET/HEAD: the bytes of part N of a multipart object, as a ranged read.
/// An object written in one piece is its own single part.
/// https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html#API_GetObject_RequestSyntax
enum PartRange {
    /// nil without `partNumber`; `partsCount` only for multipart objects (x-amz-mp-parts-count).
    static func parse(_ r: S3Request, _ o: ObjectRecord) throws(S3Error) -> (range: Range<Int64>, partsCount: Int?)? {
        guard let value = r.query["partNumber"] else { return nil }
        guard let n = Int(value), (1...10000).contains(n) else {
            throw S3Error(.invalidArgument, "Part number must be an integer between 1 and 10000, inclusive")
        }
        if r.header("range") != nil {
            throw S3Error(.invalidRequest, "Cannot specify both Range header and partNumber query parameter")
        }
        let sizes = o.partSizes.isEmpty ? [o.size] : o.partSizes
        guard n <= sizes.count else { throw S3Error(.invalidPartNumber) }
        let start = sizes[..<(n - 1)].reduce(0, +)
        return (start..<(start + sizes[n - 1]), o.partSizes.isEmpty ? nil : sizes.count)
    }
}

/// A single `Range: bytes=…` request; nil means serve the whole object (absent, multiple
/// ranges, or a syntax S3 ignores).
enum ByteRange {
    static func parse(_ header: String, size: Int64) throws(S3Error) -> ClosedRange<Int64>? {
        let h = header.trimmingCharacters(in: .whitespaces)
        guard h.lowercased().hasPrefix("bytes=") else { return nil }
        let spec = h.dropFirst(6)
        if spec.contains(",") { return nil }
        guard let dash = spec.firstIndex(of: "-") else { return nil }
        let first = spec[..<dash].trimmingCharacters(in: .whitespaces)
        let last = spec[spec.index(after: dash)...].trimmingCharacters(in: .whitespaces)
        if first.isEmpty {
            guard let n = Int64(last) else { return nil }
            if n == 0 || size == 0 { throw unsatisfiable(size) }
            return max(0, size - n)...(size - 1)
        }
        guard let start = Int64(first) else { return nil }
        var end = size - 1
        if !last.isEmpty {
            guard let e = Int64(last), e >= start else { return nil }
            end = min(e, size - 1)
        }
        if start >= size { throw unsatisfiable(size) }
        return start...end
    }

    private static func unsatisfiable(_ size: Int64) -> S3Error {
        S3Error(.invalidRange, extra: [("ActualObjectSize", String(size))])
    }
}
