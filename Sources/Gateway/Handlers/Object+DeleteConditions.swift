import GatewayCore
import Logging
import S3Protocol

/// The preconditions of a delete: DeleteObject's `If-Match`, `x-amz-if-match-size` and
/// `x-amz-if-match-last-modified-time` headers, or a DeleteObjects entry's `<ETag>`, `<Size>`
/// and `<LastModifiedTime>`.
/// https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-deletes.html
/// They are judged against the key's current version only, as S3 judges them; a latest delete
/// marker is no object.
struct DeleteConditions: Equatable {
    /// `*` (any object) or an ETag, quotes taken off.
    var etag: String?
    var size: Int64?
    /// Whole seconds since 1970 (what Last-Modified shows).
    var lastModified: Int64?

    var isEmpty: Bool { etag == nil && size == nil && lastModified == nil }

    /// The header (or element) that names the first condition present, for error answers.
    var firstName: String {
        etag != nil ? "If-Match" : size != nil ? "x-amz-if-match-size" : "x-amz-if-match-last-modified-time"
    }

    static func headers(_ r: S3Request) throws(S3Error) -> DeleteConditions {
        try DeleteConditions(
            etag: r.header("if-match"), size: r.header("x-amz-if-match-size"),
            lastModified: r.header("x-amz-if-match-last-modified-time"))
    }

    static func element(_ node: XMLNode) throws(S3Error) -> DeleteConditions {
        try DeleteConditions(
            etag: node.child("ETag")?.text, size: node.child("Size")?.text,
            lastModified: node.child("LastModifiedTime")?.text)
    }

    init(etag: String? = nil, size: Int64? = nil, lastModified: Int64? = nil) {
        self.etag = etag
        self.size = size
        self.lastModified = lastModified
    }

    /// Parses the raw values; a size or time that does not parse is InvalidArgument, never a
    /// condition silently dropped.
    init(etag rawETag: String?, size rawSize: String?, lastModified rawTime: String?) throws(S3Error) {
        if let raw = rawETag {
            var t = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if t.hasPrefix("\"") && t.hasSuffix("\"") && t.count >= 2 { t = String(t.dropFirst().dropLast()) }
            etag = t
        }
        if let raw = rawSize {
            guard let n = Int64(raw.trimmingCharacters(in: .whitespacesAndNewlines)), n >= 0 else {
                throw S3Error(.invalidArgument, "Invalid size: \(raw.prefix(64))")
            }
            size = n
        }
        if let raw = rawTime {
            // boto3 and the CLI send an HTTP date (RFC 1123) in the header and in DeleteObjects'
            // body; ISO 8601 (what listings show) is taken too.
            let t = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if let s = HTTPDate.parseHTTP(t) {
                lastModified = Int64(s)
            } else if let s = HTTPDate.parseISO8601(t) {
                lastModified = Int64(s.rounded(.down))
            } else {
                throw S3Error(.invalidArgument, "Invalid last modified time: \(raw.prefix(64))")
            }
        }
    }

    /// What a delete under these conditions does to a key whose latest entry is `latest`: nil
    /// when there is no object and no `If-Match` (S3: 204, nothing to delete); otherwise the
    /// seq the delete must still find as the key's latest. Throws NoSuchKey for `If-Match` on
    /// no object (what S3 answers, even for `*`), PreconditionFailed for a mismatch.
    func judge(_ latest: ObjectRecord?) throws(S3Error) -> String? {
        guard let latest, !latest.isDeleteMarker else {
            if etag != nil { throw S3Error(.noSuchKey) }
            return nil
        }
        if let etag, etag != "*", etag != latest.etag { throw Self.failed("If-Match") }
        if let size, size != latest.size { throw Self.failed("x-amz-if-match-size") }
        if let lastModified, lastModified != Int64(latest.lastModified.rounded(.down)) {
            throw Self.failed("x-amz-if-match-last-modified-time")
        }
        return latest.versionSeq
    }

    static func failed(_ condition: String) -> S3Error {
        S3Error(.preconditionFailed, extra: [("Condition", condition)])
    }
}

extension Handlers {
    /// A delete of `key` (one version when `versionId` is given) under `conditions`. Without
    /// conditions it is the store's plain delete. With them, the key's latest entry is judged and
    /// deleted only while it is still that entry (`ifLatestSeq`, checked in the delete's
    /// transaction), so a write that lands between the check and the delete is never what gets
    /// deleted: the new state is judged again (a few times; then 409 OperationAborted, as S3
    /// answers a conflicting conditional operation).
    static func conditionalDelete(
        _ b: BucketRecord, key: String, versionId: String?, _ conditions: DeleteConditions, bypassGovernance: Bool,
        _ r: S3Request, _ ctx: GatewayContext
    ) throws -> DeleteOutcome {
        guard !conditions.isEmpty else {
            return try ctx.metadata.deleteVersion(
                bucket: b.name, key: key, versionId: versionId, bypassGovernance: bypassGovernance, now: r.now,
                ifLatestSeq: nil)
        }
        // S3 judges conditions against the current version only and refuses them beside a
        // version id (501); judging them against the version named instead would be a guess.
        guard versionId == nil else {
            throw S3Error(
                .notImplemented, "Conditional deletes of a specific version are not implemented.",
                extra: [("Header", conditions.firstName)])
        }
        for _ in 0..<3 {
            guard let seq = try conditions.judge(try ctx.metadata.latestVersion(bucket: b.name, key: key)) else {
                return DeleteOutcome(removed: nil, marker: nil)
            }
            do {
                return try ctx.metadata.deleteVersion(
                    bucket: b.name, key: key, versionId: nil, bypassGovernance: bypassGovernance, now: r.now,
                    ifLatestSeq: seq)
            } catch {
                // Another write or delete of the key won the race: judge what it left.
                guard error == .preconditionFailed else { throw error }
            }
        }
        throw S3Error(.operationAborted)
    }
}
