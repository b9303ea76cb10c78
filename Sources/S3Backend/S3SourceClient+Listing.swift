import Foundation
import GatewayCore
import S3Protocol
import SigV4

/// What the account holds: its buckets, each bucket's region, its keys page by page. Answers are
/// parsed whole or refused; a source's odd answer is an error, never an endless loop.
extension S3SourceClient {
    public func listBuckets() throws(SourceError) -> [SourceBucket] {
        var buckets: [SourceBucket] = []
        var token: String?
        var seen: Set<String> = []
        repeat {
            let query = token.map { "continuation-token=" + uriEncode($0, encodeSlash: true) } ?? ""
            let (answer, body) = try fetch(
                "ListBuckets", Call(query: query, atEndpoint: true), region: accountRegion,
                limit: Self.bucketListingLimit)
            guard answer.ok else { throw error("ListBuckets", answer) }
            let page: BucketListingPage
            do {
                page = try BucketListingPage.parse(body)
            } catch {
                throw .invalidAnswer("ListBuckets answered with \(error.why)")
            }
            buckets += page.buckets.map { SourceBucket(name: $0.name, creationDate: $0.creationDate) }
            token = page.next
            if let t = token, !seen.insert(t).inserted {
                throw .invalidAnswer("ListBuckets answered with a continuation token twice")
            }
        } while token != nil
        return buckets
    }

    /// GetBucketLocation at the account's endpoint: "" is us-east-1 on AWS (elsewhere the
    /// region the person gave), "EU" is eu-west-1. Credentials that may not ask get the region
    /// from HeadBucket's `x-amz-bucket-region`, which AWS sends even with a refusal.
    public func region(of bucket: String) throws(SourceError) -> String {
        try region(of: bucket, signedFor: accountRegion, askAgain: true)
    }

    /// Only `x-amz-bucket-region` names a bucket's region. The Region of an error document
    /// (AuthorizationHeaderMalformed) names the region the endpoint expects a signature for —
    /// the endpoint's, not the bucket's — so it is only where to ask again, once.
    private func region(of bucket: String, signedFor signing: String, askAgain: Bool) throws(SourceError) -> String {
        let operation = "GetBucketLocation \(bucket)"
        let (answer, body) = try fetch(
            operation, Call(bucket: bucket, query: "location", atEndpoint: true), region: signing,
            limit: 64 << 10, followRegion: false)
        if answer.ok {
            guard let root = XMLNode.parse(body), root.name == "LocationConstraint" else {
                throw .invalidAnswer("\(operation) answered with not a location")
            }
            let location = root.text.trimmingCharacters(in: .whitespacesAndNewlines)
            switch location {
            case "": return isAWS ? "us-east-1" : defaultRegion
            case "EU": return "eu-west-1"
            default:
                guard Self.isRegionName(location) else { throw .invalidAnswer("\(operation) answered with no region") }
                return location
            }
        }
        if let region = answer.bucketRegion { return region }
        if askAgain, let other = answer.redirectRegion, other != signing {
            return try region(of: bucket, signedFor: other, askAgain: false)
        }
        let failure = error(operation, answer, bucket: bucket)
        switch failure {
        case .accessDenied:
            let head = try send(
                Call(method: "HEAD", bucket: bucket, atEndpoint: true), region: signing, followRegion: false)
            if let region = head.bucketRegion { return region }
            if isAWS { throw failure }
            return defaultRegion
        case .failed where !isAWS:
            // An S3-compatible store without GetBucketLocation signs with its one region.
            return defaultRegion
        default:
            throw failure
        }
    }

    /// One ListObjectsV2 page of up to 1000 keys, URL-encoded on the wire so any byte a key
    /// holds survives the XML. The page must continue where the previous one (this client's,
    /// with the same token) ended: keys in order, no endless run of empty pages.
    public func listObjects(bucket: String, region: String, continuation: String?) throws(SourceError)
        -> SourcePage
    {
        let operation = "ListObjectsV2 \(bucket)"
        var query = "list-type=2&max-keys=\(Self.pageSize)&encoding-type=url"
        if let continuation { query += "&continuation-token=" + uriEncode(continuation, encodeSlash: true) }
        let (answer, body) = try fetch(
            operation, Call(bucket: bucket, query: query), region: region, limit: Self.listingLimit)
        guard answer.ok else { throw error(operation, answer, bucket: bucket) }
        let cursor = cursors.withLock { cursors in
            cursors[bucket].flatMap { continuation != nil && $0.token == continuation ? $0 : nil }
        }
        let page: ObjectListingPage
        do {
            page = try ObjectListingPage.parse(body, after: cursor?.lastKey ?? "")
        } catch {
            throw .invalidAnswer("\(operation) answered with \(error.why)")
        }
        guard page.entries.count <= Self.pageSize else {
            throw .invalidAnswer("\(operation) answered with more keys than asked for")
        }
        if let next = page.next {
            let emptyPages = page.entries.isEmpty ? (cursor?.emptyPages ?? 0) + 1 : 0
            guard next != continuation else {
                throw .invalidAnswer("\(operation) answered with the same continuation token again")
            }
            guard emptyPages <= 10 else {
                throw .invalidAnswer("\(operation) answered with empty pages that never end")
            }
            let last = page.entries.last?.key ?? cursor?.lastKey ?? ""
            cursors.withLock { $0[bucket] = ListingCursor(token: next, lastKey: last, emptyPages: emptyPages) }
        } else {
            cursors.withLock { $0[bucket] = nil }
        }
        return SourcePage(
            objects: page.entries.map {
                SourceObject(
                    key: $0.key, size: $0.size, etag: $0.etag ?? "", lastModified: $0.lastModified ?? 0,
                    storageClass: $0.storageClass)
            }, next: page.next)
    }
}
