import GatewayCore

/// A walk over every version of a bucket — the latest and the noncurrent ones, delete markers
/// included — in key order and, within a key, newest first, page by page. The background work
/// (residency audit, repair, scrub, replica-count changes, gauges) walks versions, not only
/// current objects: every version is its own set of copies.
public struct VersionWalk {
    let store: MetadataStore
    let bucket: String
    let page: Int

    /// A seq greater than every version's (they are hex digits): resuming after
    /// `(key, beforeAll)` starts at the key's newest version.
    public static let beforeAll = "~"

    public init(_ store: MetadataStore, bucket: String, page: Int = 1000) {
        self.store = store
        self.bucket = bucket
        self.page = max(1, page)
    }

    /// Calls `body` with each entry after `after` (a key and the `versionSeq` of the entry
    /// last seen; a nil seq: after every version of that key) until it returns false or the
    /// bucket ends. Returns the last entry handed to `body`.
    @discardableResult
    public func visit(
        after: (key: String, seq: String?)? = nil, _ body: (VersionEntry) throws(StoreError) -> Bool
    ) throws(StoreError) -> VersionEntry? {
        var last: VersionEntry?
        var position = after
        // The remaining versions of the key the walk resumes in (older than the seq seen).
        if let (key, seq) = position, let seq {
            var q = VersionListQuery(prefix: key, maxKeys: page)
            keyLoop: while true {
                let p = try store.listVersions(bucket: bucket, query: q)
                for e in p.entries {
                    // The key itself sorts before every longer key it is a prefix of.
                    guard e.record.key == key else { break keyLoop }
                    guard e.record.versionSeq < seq else { continue }
                    last = e
                    guard try body(e) else { return last }
                }
                guard p.isTruncated, let k = p.nextKeyMarker, let v = p.nextVersionIdMarker else { break }
                (q.keyMarker, q.versionIdMarker) = (k, v)
            }
            position = (key, nil)
        }
        var q = VersionListQuery(keyMarker: position?.key ?? "", maxKeys: page)
        while true {
            let p: VersionPage
            do throws(StoreError) {
                p = try store.listVersions(bucket: bucket, query: q)
            } catch .noSuchVersion {
                // The version the page ended at is gone meanwhile: resume by key and seq.
                guard let e = last else { throw .noSuchVersion }
                let rest = try visit(after: (e.record.key, e.record.versionSeq), body)
                return rest ?? last
            }
            for e in p.entries {
                last = e
                guard try body(e) else { return last }
            }
            guard p.isTruncated, let k = p.nextKeyMarker else { return last }
            (q.keyMarker, q.versionIdMarker) = (k, p.nextVersionIdMarker ?? "")
        }
    }
}
