import Foundation
import GatewayCore
import GatewayTesting
import XCTest

@testable import MetadataSQL

/// Delimiter listings that seek past common prefixes (issue 15, "Listing at scale"): the SQL
/// store's pages are the S3 algorithm's, edge cases included, on SQLite and (with
/// S3GW_TEST_METADATA=postgres) PostgreSQL, and a common prefix costs a seek, not its keys.
final class SkipListingTests: XCTestCase {
    var dir: String!
    var store: SQLMetadataStore!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "s3gw-skiplist-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        store = try sqlStore(dir: dir)
        _ = try store.createBucket(bucketRecord)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    let bucketRecord = BucketRecord(
        name: "b", owner: "o", createdAt: 1, locationConstraint: "", zones: ["z"], backendBucket: "s3gw-x")

    func record(_ key: String) -> ObjectRecord {
        ObjectRecord(
            bucket: "b", key: key, size: 1, etag: "e", lastModified: 1, contentType: "t", headers: [], checksums: [:],
            zone: "z", blob: "ab")
    }

    /// Writes keys straight into `objects` in one transaction (the store's own row writer).
    func insert(_ keys: some Sequence<String>) throws {
        try store.withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                for k in keys { try SQLMetadataStore.insert(record(k), db) }
            }
        }
    }

    /// What a listing shows, every scalar spelled out: "e\u{301}" and "é" compare equal as Swift
    /// Strings but are different keys.
    struct Shown: Equatable, CustomStringConvertible {
        var keys: [String] = []
        var prefixes: [String] = []
        var truncated = false
        var last: String?
        var description: String { "keys \(keys) prefixes \(prefixes) truncated \(truncated) last \(last ?? "-")" }
        static func spelled(_ s: String) -> String { s.unicodeScalars.map { $0.escaped(asASCII: true) }.joined() }
        init(_ page: ListPage) {
            keys = page.objects.map { Self.spelled($0.key) }
            prefixes = page.commonPrefixes.map(Self.spelled)
            truncated = page.isTruncated
            last = page.isTruncated ? page.last.map(Self.spelled) : nil
        }
        init() {}
    }

    /// The S3 algorithm on the sorted key list: keys after `after` under the prefix, rolled up
    /// at the first delimiter after the prefix; a common prefix up to `after` is not listed again.
    static func model(_ keys: [String], _ q: ListQuery) -> Shown {
        var out = Shown()
        var seen = Set<[UInt8]>()
        for k in keys.sorted(by: VersionLister.precedes)
        where k.utf8.starts(with: q.prefix.utf8) && VersionLister.precedes(q.after, k) {
            var cp: String?
            if let d = q.delimiter, !d.isEmpty, let r = k.utf8.dropFirst(q.prefix.utf8.count).firstRange(of: d.utf8) {
                let p = String(decoding: k.utf8[..<r.upperBound], as: UTF8.self)
                if !VersionLister.precedes(q.after, p) || !seen.insert(Array(p.utf8)).inserted { continue }
                cp = p
            }
            if out.keys.count + out.prefixes.count == q.maxKeys {
                // Max-keys 0 answers an empty page that is not truncated, as before.
                out.truncated = q.maxKeys > 0
                return out
            }
            let entry = Shown.spelled(cp ?? k)
            if cp == nil { out.keys.append(entry) } else { out.prefixes.append(entry) }
            out.last = entry
        }
        out.last = nil
        return out
    }

    static let keys = [
        "a", "a/", "a/1", "a//x", "a/b/2", "a/b/3", "a/b/c/4", "ab", "a0", "b/c/d", "dir/", "dir/sub/", "dir/sub/f",
        "é/1", "e\u{301}/2", "e/3", "¿/x", "¿¿/y", "À/z", "\u{D7FF}/p", "\u{E000}/q", "\u{10FFFF}/max", "\u{10FFFF}",
        "\u{10FFFF}\u{10FFFF}/a", "\u{10FFFF}\u{10FFFF}/b", "x::y", "x::z::w", "x:y", "x::", "日本/語", "日本語",
        "日本本/x", "k\u{7F}", "k\u{80}", "%2F", "sp ace/k", "+plus", "tab\tkey", "z", "zz/",
    ]

    func list(_ q: ListQuery) throws -> Shown { Shown(try store.listObjects(bucket: "b", query: q)) }

    /// Every combination of prefix, delimiter, marker and max-keys against the model, and every
    /// (prefix, delimiter) paged one and two entries at a time to its end.
    func testPagesAreTheS3AlgorithmsOnEveryEdge() throws {
        try insert(Self.keys)
        let prefixes = ["", "a", "a/", "a/b/", "dir/", "日本", "x", "x::", "é", "e", "¿", "\u{10FFFF}", "nothing"]
        let delimiters: [String?] = [nil, "/", "::", "¿", "本", "b/", "\u{10FFFF}"]
        let afters = ["", "a", "a/", "a/b/2", "a/b/", "ab", "e\u{301}", "x::", "日", "zz/", "\u{10FFFF}/a"]
        for prefix in prefixes {
            for delimiter in delimiters {
                for after in afters {
                    for maxKeys in [0, 1, 2, 1000] {
                        let q = ListQuery(prefix: prefix, delimiter: delimiter, after: after, maxKeys: maxKeys)
                        XCTAssertEqual(try list(q), Self.model(Self.keys, q), "\(q)")
                    }
                }
                for maxKeys in [1, 2] {
                    var all = Shown()
                    var after = ""
                    while true {
                        let page = try store.listObjects(
                            bucket: "b",
                            query: ListQuery(prefix: prefix, delimiter: delimiter, after: after, maxKeys: maxKeys))
                        let shown = Shown(page)
                        all.keys += shown.keys
                        all.prefixes += shown.prefixes
                        guard page.isTruncated, let last = page.last else { break }
                        after = last
                    }
                    XCTAssertEqual(
                        all, Self.model(Self.keys, ListQuery(prefix: prefix, delimiter: delimiter, maxKeys: 100_000)),
                        "paged by \(maxKeys): \(prefix) \(delimiter ?? "-")")
                }
            }
        }
    }

    func testNamedEdgeCases() throws {
        try insert(Self.keys)
        func entries(_ prefix: String, _ delimiter: String?, after: String = "", max: Int = 1000) throws -> [String] {
            let s = try list(ListQuery(prefix: prefix, delimiter: delimiter, after: after, maxKeys: max))
            return (s.keys + s.prefixes.map { "CP " + $0 }).sorted()
        }
        // A prefix ending in the delimiter: its own key and its sub-"directories".
        XCTAssertEqual(try entries("dir/", "/"), ["CP dir/sub/", "dir/"])
        // A key equal to the prefix is listed as a key.
        XCTAssertEqual(try entries("a/", "/", max: 2), ["CP a//", "a/"])
        // A delimiter of two characters; one no key holds after the prefix.
        XCTAssertEqual(try entries("x", "::"), ["CP x::", "x:y"])
        XCTAssertEqual(try entries("b/", "#"), ["b/c/d"])
        // A marker inside a common prefix: the rest of that prefix is not rolled up again.
        XCTAssertEqual(try entries("a/", "/", after: "a/b/2"), [])
        XCTAssertEqual(try entries("", "/", after: "a/b/2", max: 2), ["a0", "ab"])
        // Canonically equal keys that differ in bytes are different keys, listed in byte order.
        XCTAssertEqual(
            try list(ListQuery(delimiter: "/", after: "e/", maxKeys: 4)).prefixes, ["e\\u{0301}/", "sp ace/"])
        XCTAssertEqual(try list(ListQuery(prefix: "e", after: "e/3", maxKeys: 1)).keys, ["e\\u{0301}/2"])
        // A delimiter of U+10FFFF: its common prefix has no successor; the store reads through it, listing it once.
        XCTAssertEqual(try list(ListQuery(delimiter: "\u{10FFFF}")).prefixes, ["\\u{0010FFFF}"])
    }

    /// 30 000 keys under three common prefixes: a delimiter page reads one row per common prefix,
    /// not its keys — from the start, and continuing after a page that ended on a common prefix.
    func testADelimiterListingSeeksPastCommonPrefixes() throws {
        try insert((0..<30_000).map { "big\($0 % 3)/\($0)/data.json" } + ["flat1", "flat2"])
        let read = { (q: ListQuery) throws -> (page: ListPage, rowsRead: Int) in
            try self.store.withConnection { db throws(StoreError) in try SQLMetadataStore.listObjects("b", q, db) }
        }
        var r = try read(ListQuery(delimiter: "/"))
        XCTAssertEqual(r.page.commonPrefixes, ["big0/", "big1/", "big2/"])
        XCTAssertEqual(r.page.objects.map(\.key), ["flat1", "flat2"])
        XCTAssertEqual(r.rowsRead, 5, "one row per entry")
        r = try read(ListQuery(delimiter: "/", after: "big0/", maxKeys: 1))
        XCTAssertEqual(r.page.commonPrefixes, ["big1/"])
        XCTAssertTrue(r.page.isTruncated)
        XCTAssertEqual(r.rowsRead, 3, "big0/ seeked over, big1/ listed, big2/ truncates")
        // One level down: 10 000 common prefixes of one key each, a page of 1000 of them.
        r = try read(ListQuery(prefix: "big1/", delimiter: "/"))
        XCTAssertEqual(r.page.commonPrefixes.count, 1000)
        XCTAssertTrue(r.page.isTruncated)
        XCTAssertEqual(r.rowsRead, 1001)
        // Plain keys come in bulk: a page reads its keys and the one that truncates it.
        r = try read(ListQuery(prefix: "big2/", maxKeys: 1000))
        XCTAssertEqual(r.page.objects.count, 1000)
        XCTAssertEqual(r.rowsRead, 1001)
        r = try read(ListQuery(prefix: "big2/", delimiter: "#", maxKeys: 1000))
        XCTAssertEqual(r.page.objects.count, 1000)
        XCTAssertEqual(r.rowsRead, 1001)
    }

    /// On PostgreSQL a delimiter page is two statements — the rows up to its first common
    /// prefix, then one walk whose seeks run inside the server — not one per common prefix.
    func testOnPostgreSQLADelimiterPageIsOneStatement() throws {
        try XCTSkipUnless(storeTestsOnPostgres, "the walk is PostgreSQL's")
        try insert((0..<3_300).map { "big\($0 % 3)/\($0)/data.json" } + ["flat1", "flat2"])
        func read(_ q: ListQuery) throws -> (page: ListPage, statements: Int) {
            try store.withConnection { db throws(StoreError) in
                let counting = CountingConnection(db)
                let page = try SQLMetadataStore.listObjects("b", q, counting).page
                return (page, counting.statements)
            }
        }
        var r = try read(ListQuery(prefix: "big1/", delimiter: "/"))
        XCTAssertEqual(r.page.commonPrefixes.count, 1000)
        XCTAssertTrue(r.page.isTruncated)
        XCTAssertEqual(r.statements, 2)
        r = try read(ListQuery(delimiter: "/"))
        XCTAssertEqual(r.page.commonPrefixes, ["big0/", "big1/", "big2/"])
        XCTAssertEqual(r.page.objects.map(\.key), ["flat1", "flat2"])
        XCTAssertEqual(r.statements, 2)
        r = try read(ListQuery(delimiter: "/", after: "big0/", maxKeys: 1))
        XCTAssertEqual(r.page.commonPrefixes, ["big1/"])
        XCTAssertTrue(r.page.isTruncated)
        XCTAssertEqual(r.statements, 2)
        // Plain keys under a delimiter that never matches: no seek, no walk; they come in bulk.
        r = try read(ListQuery(prefix: "big2/", delimiter: "#", maxKeys: 1000))
        XCTAssertEqual(r.page.objects.count, 1000)
        XCTAssertEqual(r.statements, 6)
        // A delimiter that is not ASCII is walked too (its successor is the next scalar)...
        try insert(["x¿1", "x¿2", "y¿1", "zz\u{10FFFF}3", "z\u{10FFFF}1", "z\u{10FFFF}2"])
        r = try read(ListQuery(delimiter: "¿", after: "flat2"))
        XCTAssertEqual(r.page.commonPrefixes, ["x¿", "y¿"])
        XCTAssertEqual(r.statements, 2)
        // ...but U+10FFFF has no successor: the row-by-row reader, one statement per prefix and the end.
        r = try read(ListQuery(delimiter: "\u{10FFFF}", after: "y¿1"))
        XCTAssertEqual(r.page.commonPrefixes, ["zz\u{10FFFF}", "z\u{10FFFF}"])
        XCTAssertEqual(r.statements, 3)
    }

    /// The walk's steps are primary-key index probes, never a scan of the table.
    func testOnPostgreSQLTheWalkProbesThePrimaryKey() throws {
        try XCTSkipUnless(storeTestsOnPostgres, "the walk is PostgreSQL's")
        try insert((0..<2_000).map { "d\($0 % 50)/\($0)" })
        try store.withConnection { db throws(StoreError) in try db.exec("ANALYZE objects") }
        for inclusive in [true, false] {
            let plan = try store.withConnection { db throws(StoreError) in
                var lines: [String] = []
                try db.query(
                    "EXPLAIN " + SQLMetadataStore.keyWalkSQL(inclusive: inclusive),
                    [
                        .text("b"), .text(""), .text("b"), .int(1), .text("/"), .int(1), .int(1), .text("/"),
                        .text("0"),
                        .int(1001), .text(""),
                    ]
                ) { r in lines.append(r.text(0)) }
                return lines.joined(separator: "\n")
            }
            XCTAssertTrue(plan.contains("objects_pkey"), plan)
            XCTAssertFalse(plan.contains("Seq Scan on objects"), plan)
        }
    }

    /// The successor of a common prefix: the next byte after an ASCII one, the next scalar
    /// after any other (valid UTF-8 either way).
    func testTheSuccessorOfACommonPrefix() {
        XCTAssertEqual(KeyLister.successor(ofPrefix: Array("a/".utf8)), "a0")
        XCTAssertEqual(KeyLister.successor(ofPrefix: Array("a\u{7F}".utf8)).map { Array($0.utf8) }, [0x61, 0xC2, 0x80])
        XCTAssertEqual(KeyLister.successor(ofPrefix: Array("a¿".utf8)), "aÀ")
        XCTAssertEqual(KeyLister.successor(ofPrefix: Array("x本".utf8)), "x札")
        XCTAssertNil(KeyLister.successor(ofPrefix: Array("\u{10FFFF}".utf8)))
        XCTAssertEqual(KeyLister.commonPrefix(of: "a::b::c", after: 1, Array("::".utf8)), Array("a::".utf8))
        XCTAssertEqual(KeyLister.commonPrefix(of: "a::b::c", after: 2, Array("::".utf8)), Array("a::b::".utf8))
        XCTAssertNil(KeyLister.commonPrefix(of: "a:b", after: 0, Array("::".utf8)))
        XCTAssertNil(KeyLister.commonPrefix(of: "ab", after: 2, Array("/".utf8)))
    }

    /// The seek is an index range on (bucket, key), never a scan of the table.
    func testTheListingReadsThePrimaryKeyRange() throws {
        let dialect = try store.withConnection { db throws(StoreError) in db.dialect }
        try XCTSkipUnless(dialect == .sqlite, "the plans read here are SQLite's (EXPLAIN QUERY PLAN)")
        for sql in [SQLMetadataStore.keysFromSQL, SQLMetadataStore.keysAfterSQL] {
            let plan = try store.withConnection { db throws(StoreError) in
                var lines: [String] = []
                try db.query("EXPLAIN QUERY PLAN " + sql, [.text("b"), .text("k"), .int(10)]) { r in
                    lines.append(r.text(3))
                }
                return lines.joined(separator: "; ")
            }
            XCTAssertTrue(plan.contains("SEARCH objects USING PRIMARY KEY (bucket=? AND key>?)"), plan)
            XCTAssertFalse(plan.contains("TEMP B-TREE"), plan)
        }
    }

    /// ListObjectVersions pages alike through its own lister: the same key set, compared with
    /// ListObjects on an unversioned bucket (one version per key).
    func testVersionListingAgreesWithKeyListing() throws {
        try insert(Self.keys)
        for delimiter in [nil, "/", "::"] as [String?] {
            for prefix in ["", "a/", "x"] {
                var keys: [String] = []
                var cps: [String] = []
                var q = VersionListQuery(prefix: prefix, delimiter: delimiter, maxKeys: 2)
                while true {
                    let p = try store.listVersions(bucket: "b", query: q)
                    keys += p.entries.map(\.record.key)
                    cps += p.commonPrefixes
                    guard p.isTruncated else { break }
                    q.keyMarker = p.nextKeyMarker ?? ""
                    q.versionIdMarker = p.nextVersionIdMarker ?? ""
                }
                let page = try store.listObjects(
                    bucket: "b", query: ListQuery(prefix: prefix, delimiter: delimiter, maxKeys: 1000))
                XCTAssertEqual(keys, page.objects.map(\.key), "\(prefix) \(delimiter ?? "-")")
                XCTAssertEqual(cps, page.commonPrefixes, "\(prefix) \(delimiter ?? "-")")
            }
        }
    }
}

/// Forwards to a connection and counts its statements; `beforeQuery` sees each query's SQL
/// before it runs.
final class CountingConnection: SQLConnection {
    let inner: any SQLConnection
    private(set) var statements = 0
    /// Rows the statements returned, and the most one statement returned.
    private(set) var rows = 0
    private(set) var mostRows = 0
    /// The most rows one statement of each text returned.
    private(set) var mostRowsBySQL: [String: Int] = [:]
    private let beforeQuery: ((String) -> Void)?
    init(_ inner: any SQLConnection, beforeQuery: ((String) -> Void)? = nil) {
        self.inner = inner
        self.beforeQuery = beforeQuery
    }
    var dialect: SQLDialect { inner.dialect }
    var audits: Bool {
        get { inner.audits }
        set { inner.audits = newValue }
    }
    var changes: Int { inner.changes }
    func exec(_ sql: String) throws(StoreError) {
        statements += 1
        try inner.exec(sql)
    }
    func query(_ sql: String, _ args: [SQLValue], row: (any SQLRow) throws(StoreError) -> Void) throws(StoreError) {
        statements += 1
        beforeQuery?(sql)
        var these = 0
        defer {
            mostRows = max(mostRows, these)
            mostRowsBySQL[sql] = max(mostRowsBySQL[sql] ?? 0, these)
        }
        try inner.query(sql, args) { r throws(StoreError) in
            these += 1
            rows += 1
            try row(r)
        }
    }
    func transaction<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T { try inner.transaction(body) }
    func concurrentTransaction<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        try inner.concurrentTransaction(body)
    }
    func readTransaction<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        try inner.readTransaction(body)
    }
}
