import GatewayCore

/// Folds keys in byte order into a ListObjects page: prefix filter, delimiter roll-up into
/// common prefixes, max-keys truncation. Pure, so its rules are unit-testable without SQL.
struct KeyLister {
    let query: ListQuery
    private(set) var page = ListPage(objects: [], commonPrefixes: [], isTruncated: false, last: nil)
    private(set) var done = false
    init(query: ListQuery) {
        self.query = query
        if query.maxKeys <= 0 { done = true }
    }

    private var count: Int { page.objects.count + page.commonPrefixes.count }

    /// Takes the next key in order. Returns a key to seek to (inclusive) when every key under a
    /// just-found common prefix can be skipped.
    mutating func offer(_ o: ObjectRecord) -> String? {
        if done { return nil }
        guard o.key.utf8.starts(with: query.prefix.utf8) else {
            // Past the prefix range: keys are sorted, nothing after can match.
            if o.key.utf8.lexicographicallyPrecedes(query.prefix.utf8) == false { done = true }
            return nil
        }
        if let d = query.delimiter, !d.isEmpty {
            let rest = o.key.utf8.dropFirst(query.prefix.utf8.count)
            if let range = rest.firstRange(of: d.utf8) {
                let cpBytes = Array(query.prefix.utf8) + Array(rest[rest.startIndex..<range.upperBound])
                let cp = String(decoding: cpBytes, as: UTF8.self)
                if cp <= query.after || page.commonPrefixes.last == cp { return nil }
                if count >= query.maxKeys {
                    page.isTruncated = true
                    done = true
                    return nil
                }
                page.commonPrefixes.append(cp)
                page.last = cp
                return KeyLister.successor(ofPrefix: cpBytes)
            }
        }
        if count >= query.maxKeys {
            page.isTruncated = true
            done = true
            return nil
        }
        page.objects.append(o)
        page.last = o.key
        return nil
    }

    /// The smallest string greater than every string starting with `prefix`; nil when there is
    /// none (the caller then scans on instead of seeking). VersionLister's: the next scalar, so
    /// a prefix ending in a continuation byte (0xBF of "¿") still seeks instead of reading the
    /// whole common prefix row by row.
    static func successor(ofPrefix prefix: [UInt8]) -> String? {
        VersionLister.successor(ofPrefix: prefix)
    }
}
