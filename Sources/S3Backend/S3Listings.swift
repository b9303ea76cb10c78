import Foundation
import GatewayCore
import S3Protocol
import SigV4

/// An S3 answer that cannot be used: a listing cut short, out of order or not a listing at all.
/// Never guessed at: the caller fails the request with `why`.
struct ListingRefusal: Error {
    let why: String
}

/// One ListObjectsV2 answer, parsed whole: entries in key order, and the token of the next page.
/// Shared by a zone's inventory and a source account's listing, so both refuse the same answers.
struct ObjectListingPage {
    struct Entry {
        var key: String
        var size: Int64
        /// Unquoted.
        var etag: String?
        var lastModified: Double?
        var storageClass: String?
    }

    var entries: [Entry]
    /// The NextContinuationToken of a truncated page; nil on the last.
    var next: String?

    /// Parses a page whose keys must all come after `after` (the previous page's last key, or
    /// "" when not known), in UTF-8 byte order: anything else would page forever.
    static func parse(_ body: [UInt8], after: String) throws(ListingRefusal) -> ObjectListingPage {
        guard let root = XMLNode.parse(body), root.name == "ListBucketResult" else {
            throw ListingRefusal(why: "not a listing")
        }
        // Keys come URL-encoded (encoding-type=url), so any byte a key may hold survives the XML.
        let encoded = root.child("EncodingType")?.text == "url"
        var entries: [Entry] = []
        var last = after
        for entry in root.children("Contents") {
            guard let rawKey = entry.child("Key")?.text,
                let key = encoded ? percentDecode(rawKey.replacingOccurrences(of: "+", with: " ")) : rawKey,
                let size = entry.child("Size").flatMap({ Int64($0.text) }), size >= 0
            else {
                throw ListingRefusal(why: "an entry without a valid Key and Size")
            }
            guard last.utf8.lexicographicallyPrecedes(key.utf8) else { throw ListingRefusal(why: "keys out of order") }
            last = key
            entries.append(
                Entry(
                    key: key, size: size, etag: entry.child("ETag").map { unquotedETag($0.text) },
                    lastModified: entry.child("LastModified").flatMap { HTTPDate.parseISO8601($0.text) },
                    storageClass: entry.child("StorageClass").map(\.text).flatMap { $0.isEmpty ? nil : $0 }))
        }
        guard root.child("IsTruncated")?.text == "true" else { return ObjectListingPage(entries: entries, next: nil) }
        guard let next = root.child("NextContinuationToken")?.text, !next.isEmpty else {
            throw ListingRefusal(why: "a truncated page without a continuation token")
        }
        return ObjectListingPage(entries: entries, next: next)
    }
}

/// One ListBuckets answer: the buckets and, where the endpoint pages, the next token.
struct BucketListingPage {
    var buckets: [(name: String, creationDate: Double?)]
    var next: String?

    static func parse(_ body: [UInt8]) throws(ListingRefusal) -> BucketListingPage {
        guard let root = XMLNode.parse(body), root.name == "ListAllMyBucketsResult" else {
            throw ListingRefusal(why: "not a bucket listing")
        }
        var buckets: [(name: String, creationDate: Double?)] = []
        for bucket in root.child("Buckets")?.children("Bucket") ?? [] {
            guard let name = bucket.child("Name")?.text, !name.isEmpty else {
                throw ListingRefusal(why: "a bucket without a name")
            }
            buckets.append((name, bucket.child("CreationDate").flatMap { HTTPDate.parseISO8601($0.text) }))
        }
        let next = root.child("ContinuationToken").map(\.text).flatMap { $0.isEmpty ? nil : $0 }
        return BucketListingPage(buckets: buckets, next: next)
    }
}
