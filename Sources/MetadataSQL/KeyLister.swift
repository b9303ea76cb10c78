import GatewayCore

/// Folds keys in byte order into a ListObjects page: prefix filter, delimiter roll-up into
/// common prefixes, max-keys truncation. Pure, so its rules are unit-testable without SQL.
/// Every comparison is by UTF-8 bytes (SQLite's BINARY, PostgreSQL's COLLATE "C"): Swift's own
/// String order would call "e\u{301}" and "é" equal.
struct KeyLister {
    let query: ListQuery
    private(set) var page = ListPage(objects: [], commonPrefixes: [], isTruncated: false, last: nil)
    private(set) var done = false
    /// The delimiter's bytes; empty without one.
    private let delimiter: [UInt8]
    init(query: ListQuery) {
        self.query = query
        delimiter = Array((query.delimiter ?? "").utf8)
        if query.maxKeys <= 0 { done = true }
    }

    /// What the reader does after offering a key.
    enum Step: Equatable {
        /// Goes on with the next key in order.
        case next
        /// Goes on with the first key at or after this one: every key before it rolls up into a
        /// common prefix already listed (or, before the page, listed on an earlier page).
        case seek(String)
    }

    /// Where reading starts: after `query.after`, or at the prefix when `after` sorts before it
    /// (no key in between can match).
    var start: (key: String, inclusive: Bool) {
        Self.precedes(query.after, query.prefix) ? (query.prefix, true) : (query.after, false)
    }

    private var count: Int { page.objects.count + page.commonPrefixes.count }
    /// Entries the page still has room for.
    var room: Int { query.maxKeys - count }

    /// Takes the next key in order; `record` is decoded only when the key goes on the page as
    /// an object (most rows a delimiter listing reads end up in a common prefix).
    mutating func offer(_ key: String, record: () -> ObjectRecord) -> Step {
        if done { return .next }
        guard key.utf8.starts(with: query.prefix.utf8) else {
            // Past the prefix range: keys are sorted, nothing after can match.
            if !Self.precedes(key, query.prefix) { done = true }
            return .next
        }
        // The reader starts after `after`; a key at or before it can only come from a start at the prefix.
        if !Self.precedes(query.after, key) { return .next }
        if !delimiter.isEmpty {
            if let cpBytes = Self.commonPrefix(of: key, after: query.prefix.utf8.count, delimiter) {
                let cp = String(decoding: cpBytes, as: UTF8.self)
                // Without a successor (a prefix of U+10FFFF only) the reader steps through its keys.
                let skip = KeyLister.successor(ofPrefix: cpBytes).map(Step.seek) ?? .next
                // A common prefix up to `after` was listed on an earlier page (or the marker lies
                // inside it, which S3 does not roll up again).
                if !Self.precedes(query.after, cp)
                    || page.commonPrefixes.last.map({ VersionLister.same($0, cp) }) == true
                {
                    return skip
                }
                if !add() { return .next }
                page.commonPrefixes.append(cp)
                page.last = cp
                return skip
            }
        }
        if !add() { return .next }
        page.objects.append(record())
        page.last = key
        return .next
    }

    /// Room for one more key or common prefix; otherwise the page is truncated and done.
    private mutating func add() -> Bool {
        if count < query.maxKeys { return true }
        page.isTruncated = true
        done = true
        return false
    }

    /// The bytes of `key` up to and including the first `delimiter` at or after byte `start`;
    /// nil when there is none. A plain byte search: the generic `firstRange(of:)` looks up type
    /// metadata at run time, once per key read.
    static func commonPrefix(of key: String, after start: Int, _ delimiter: [UInt8]) -> [UInt8]? {
        func search(_ k: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
            guard let first = delimiter.first, k.count >= start + delimiter.count else { return nil }
            var i = start
            while i + delimiter.count <= k.count {
                if k[i] == first {
                    var j = 1
                    while j < delimiter.count && k[i + j] == delimiter[j] { j += 1 }
                    if j == delimiter.count { return Array(k[0..<(i + j)]) }
                }
                i += 1
            }
            return nil
        }
        if let found = key.utf8.withContiguousStorageIfAvailable(search) { return found }
        return Array(key.utf8).withUnsafeBufferPointer(search)
    }

    /// Byte order of UTF-8, the order the store keeps keys in.
    static func precedes(_ a: String, _ b: String) -> Bool { VersionLister.precedes(a, b) }

    /// The smallest string greater than every string starting with `prefix`; nil when there is
    /// none (the caller then scans on instead of seeking). VersionLister's: the next scalar, so
    /// a prefix ending in a continuation byte (0xBF of "¿") still seeks instead of reading the
    /// whole common prefix row by row.
    static func successor(ofPrefix prefix: [UInt8]) -> String? {
        // An ASCII last byte (the usual "/") is its own scalar: the next byte is the next scalar.
        if let last = prefix.last, last < 0x7F {
            var next = prefix
            next[next.count - 1] = last + 1
            return String(decoding: next, as: UTF8.self)
        }
        return VersionLister.successor(ofPrefix: prefix)
    }
}

/// How many rows a listing asks the store for at a time. A delimiter listing seeks past each
/// common prefix it finds, so after a seek it reads one row (in a tree of "directories" the next
/// row starts the next common prefix, and rows read past a seek are wasted); while keys keep
/// going on the page it reads four times more at a time, up to what the page still has room
/// for, so a page of plain keys still comes in bulk (six statements for 1000 keys).
struct ListBatch {
    static let first = 1
    let most: Int
    private(set) var size: Int

    /// `maxKeys`: the page's size (at most 1000); `delimiter`: whether seeks can happen at all.
    init(maxKeys: Int, delimiter: String?) {
        most = min(max(maxKeys, 1), 1000) + 1
        size = (delimiter ?? "").isEmpty ? most : min(Self.first, most)
    }

    /// The rows to ask for when the page has room for `room` more entries: one more than that
    /// tells whether the page is truncated.
    func limit(room: Int) -> Int { max(1, min(size, room + 1)) }
    /// After a batch read to its end without a seek.
    mutating func grow() { size = min(size * 4, most) }
    /// After a seek.
    mutating func reset() { size = min(Self.first, most) }
}
