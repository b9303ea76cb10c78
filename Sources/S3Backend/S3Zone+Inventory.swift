import GatewayCore
import S3Protocol
import SigV4

/// What the provider holds, read from the provider itself: ListObjectsV2 pages, HeadObject,
/// ListBuckets. Answers are parsed whole or refused (a listing cut short must never pass for a
/// complete one), and a provider's odd answer is an error, never an endless loop.
extension S3Zone {
    /// The largest listing answer accepted: a page of 1000 keys of 1024 bytes, URL-encoded,
    /// stays well below it.
    static let listingLimit = 8 << 20
    /// ListBuckets is one page at most providers; 16 MiB is about 100,000 buckets.
    static let bucketListingLimit = 16 << 20

    public func listBlobs(backendBucket: String, after: String, limit: Int) throws(StoreError) -> [StoredBlob] {
        try listKeys(backendBucket: backendBucket, prefix: "", after: after, limit: limit)
    }

    /// ListObjectsV2 pages of the keys under `prefix` that sort after `after`.
    func listKeys(backendBucket: String, prefix: String, after: String, limit: Int) throws(StoreError) -> [StoredBlob] {
        var page: [StoredBlob] = []
        var token: String?
        var emptyPages = 0
        var last = after
        while page.count < limit {
            // Keys come URL-encoded, so any byte a key may hold survives the XML.
            var query = "list-type=2&max-keys=\(min(1000, limit - page.count))&encoding-type=url"
            if !prefix.isEmpty { query += "&prefix=" + uriEncode(prefix, encodeSlash: true) }
            if let token {
                query += "&continuation-token=" + uriEncode(token, encodeSlash: true)
            } else if !after.isEmpty {
                query += "&start-after=" + uriEncode(after, encodeSlash: true)
            }
            let (status, body) = try run("GET", bucket: backendBucket, query: query, answerLimit: Self.listingLimit)
            if status == 404 { return page }  // no backend bucket: nothing stored
            guard status == 200 else { throw failure("ListObjectsV2 \(backendBucket)", status, body) }
            let listing: ObjectListingPage
            do {
                listing = try ObjectListingPage.parse(body, after: last)
            } catch {
                throw refused("ListObjectsV2 \(backendBucket)", error.why)
            }
            for entry in listing.entries.prefix(limit - page.count) {
                page.append(
                    StoredBlob(id: entry.key, size: entry.size, etag: entry.etag, lastModified: entry.lastModified))
            }
            last = listing.entries.last?.key ?? last
            guard let next = listing.next else { break }
            emptyPages = listing.entries.isEmpty ? emptyPages + 1 : 0
            if emptyPages > 10 { throw refused("ListObjectsV2 \(backendBucket)", "empty pages that never end") }
            token = next
        }
        return page
    }

    public func blobInfo(backendBucket: String, blob: String) throws(StoreError) -> StoredBlob? {
        try retryingOnce { () throws -> StoredBlob? in
            let t = try start("HEAD", bucket: backendBucket, key: blob)
            do {
                try t.closeUpload()
                let status = try t.waitForResponse()
                let body = try t.finish()
                if status == 404 { return nil }  // the blob, or its backend bucket, is missing
                guard status == 200 else { throw failure("HeadObject \(blob)", status, body) }
                guard let size = t.header("content-length").flatMap({ Int64($0) }), size >= 0 else {
                    throw refused("HeadObject \(blob)", "no Content-Length")
                }
                return StoredBlob(
                    id: blob, size: size, etag: t.header("etag").map(unquotedETag),
                    lastModified: t.header("last-modified").flatMap(HTTPDate.parseHTTP).map(Double.init))
            } catch {
                t.abort()
                throw error
            }
        }
    }

    /// ListBuckets, following continuation tokens where the provider pages, keeping the names
    /// of the gateway's buckets (`s3gw-…`): the account may hold others that are none of ours.
    public func listBackendBuckets() throws(StoreError) -> [String] {
        var names: [String] = []
        var token: String?
        var seen: Set<String> = []
        repeat {
            let query = token.map { "continuation-token=" + uriEncode($0, encodeSlash: true) } ?? ""
            let (status, body) = try run("GET", bucket: nil, query: query, answerLimit: Self.bucketListingLimit)
            guard status == 200 else { throw failure("ListBuckets", status, body) }
            let listing: BucketListingPage
            do {
                listing = try BucketListingPage.parse(body)
            } catch {
                throw refused("ListBuckets", error.why)
            }
            names += listing.buckets.map(\.name).filter { $0.hasPrefix("s3gw-") }
            token = listing.next
            if let t = token, !seen.insert(t).inserted { throw refused("ListBuckets", "a continuation token twice") }
        } while token != nil
        return names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// A provider answer that cannot be used: logged as the zone's failure, never guessed at.
    func refused(_ what: String, _ why: String) -> StoreError {
        .internalFailure("zone \(name): \(what) answered with \(why)")
    }
}
