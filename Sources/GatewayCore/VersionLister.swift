/// Folds a key's versions into a ListObjectVersions page: entries arrive in (key ascending by
/// UTF-8 bytes, version seq descending) order from wherever a store keeps them; the lister
/// applies the markers, the prefix, the delimiter roll-up into common prefixes and max-keys.
/// Pure and shared by every store, so they page alike (like MetadataSQL's KeyLister).
public struct VersionLister {
    public let query: VersionListQuery
    /// The seq of `query.versionIdMarker` in `query.keyMarker` (the store resolves it): the page
    /// continues with that key's older versions. nil without a version id marker.
    public let markerSeq: String?
    public private(set) var page = VersionPage(
        entries: [], commonPrefixes: [], isTruncated: false, nextKeyMarker: nil, nextVersionIdMarker: nil)
    /// Nothing offered from now on can go on the page.
    public private(set) var done = false
    /// The key of the last entry offered: the first entry of each key is its latest.
    private var previousKey: String?

    public init(query: VersionListQuery, markerSeq: String?) {
        self.query = query
        self.markerSeq = markerSeq
        if query.maxKeys <= 0 { done = true }
    }

    /// Where the store starts reading: entries of `key` with seqs below `seqBelow` first (when
    /// set), then keys after `key` — or from `key` itself when `inclusive`.
    /// A marker key before the prefix (it cannot start with it) starts at the prefix, with or
    /// without a version id marker: the keys between could not match.
    public var start: (key: String, seqBelow: String?, inclusive: Bool) {
        if Self.precedes(query.keyMarker, query.prefix) { return (query.prefix, nil, true) }
        return (query.keyMarker, markerSeq, false)
    }

    private var count: Int { page.entries.count + page.commonPrefixes.count }
    /// Entries and common prefixes the page still has room for.
    public var room: Int { max(0, query.maxKeys - count) }

    /// Takes the next entry in order. Returns a key to continue from (inclusive) when every key
    /// under a just-listed common prefix can be skipped.
    public mutating func offer(_ v: ObjectRecord) -> String? {
        if done { return nil }
        let first = previousKey.map { !Self.same($0, v.key) } ?? true
        previousKey = v.key
        // Before the markers: the store may read from further back than `start`.
        if Self.same(v.key, query.keyMarker) {
            guard let markerSeq, v.versionSeq < markerSeq else { return nil }
        } else if !query.keyMarker.isEmpty && Self.precedes(v.key, query.keyMarker) {
            return nil
        }
        guard v.key.utf8.starts(with: query.prefix.utf8) else {
            // Past the prefix range: keys are sorted, nothing after can match.
            if !Self.precedes(v.key, query.prefix) { done = true }
            return nil
        }
        if let d = query.delimiter, !d.isEmpty {
            let rest = v.key.utf8.dropFirst(query.prefix.utf8.count)
            if let range = rest.firstRange(of: d.utf8) {
                let bytes = Array(query.prefix.utf8) + Array(rest[rest.startIndex..<range.upperBound])
                let cp = String(decoding: bytes, as: UTF8.self)
                let next = Self.successor(ofPrefix: bytes)
                if !Self.precedes(query.keyMarker, cp) || page.commonPrefixes.last.map({ Self.same($0, cp) }) == true {
                    return next
                }
                if !add() { return nil }
                page.commonPrefixes.append(cp)
                page.nextKeyMarker = cp
                page.nextVersionIdMarker = nil
                return next
            }
        }
        if !add() { return nil }
        // Resuming inside the marker's key: its newest version was on an earlier page.
        let isLatest = first && !(markerSeq != nil && Self.same(v.key, query.keyMarker))
        page.entries.append(VersionEntry(record: v, isLatest: isLatest))
        page.nextKeyMarker = v.key
        page.nextVersionIdMarker = v.versionId
        return nil
    }

    /// Room for one more entry or common prefix; otherwise the page is truncated and done.
    private mutating func add() -> Bool {
        if count < query.maxKeys { return true }
        page.isTruncated = true
        done = true
        return false
    }

    /// The finished page: the next markers only when truncated.
    public var result: VersionPage {
        var p = page
        if !p.isTruncated {
            p.nextKeyMarker = nil
            p.nextVersionIdMarker = nil
        }
        return p
    }

    /// Where a page continues when its version-id marker names a version that is gone (a
    /// client deleting what it lists — boto3's `object_versions.delete()`, Terraform's
    /// `force_destroy` — removes the very version the next page starts after): an id is its
    /// version's seq, so the page goes on with the older ones; a gone null version's seq is
    /// unknown, so the key is listed again from its newest remaining version (nothing is skipped).
    /// nil for an id no version can have.
    public static func markerSeq(forMissing versionId: String) -> String? {
        if versionId == VersionId.null { return "g" }  // above every hex seq: the whole key
        return VersionId.isWellFormed(versionId) ? versionId : nil
    }

    /// Byte order of UTF-8, as SQLite's BINARY collation compares keys.
    public static func precedes(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    /// Whether two keys are the same bytes (Swift's `==` also equates canonically equivalent
    /// strings, "e\u{301}" and "é", which are two keys).
    public static func same(_ a: String, _ b: String) -> Bool { a.utf8.elementsEqual(b.utf8) }

    /// The order entries come in: key ascending, then seq descending (newest first).
    public static func inOrder(_ a: ObjectRecord, _ b: ObjectRecord) -> Bool {
        if !same(a.key, b.key) { return precedes(a.key, b.key) }
        return a.versionSeq > b.versionSeq
    }

    /// The smallest valid string greater than every string starting with `prefix` (valid UTF-8):
    /// its last scalar made the next one. UTF-8 byte order is scalar order, so no key lies in
    /// between; incrementing the last byte instead would give invalid UTF-8 after a
    /// continuation byte (0xBF). nil only when every scalar is U+10FFFF (the store then reads on
    /// and the lister skips the keys).
    public static func successor(ofPrefix prefix: [UInt8]) -> String? {
        var scalars = Array(String(decoding: prefix, as: UTF8.self).unicodeScalars)
        while let last = scalars.popLast() {
            // The surrogates are no scalars: after U+D7FF comes U+E000.
            let next = last.value == 0xD7FF ? 0xE000 : last.value + 1
            if let s = Unicode.Scalar(next) {
                var out = String.UnicodeScalarView(scalars)
                out.append(s)
                return String(out)
            }
        }
        return nil
    }
}
