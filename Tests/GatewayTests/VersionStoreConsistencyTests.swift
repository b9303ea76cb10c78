import Foundation
import GatewayCore
import GatewayTesting
import Synchronization
import XCTest

@testable import MetadataSQL

/// The version store under concurrent readers, long random sequences run on both stores side by
/// side, the audit of every removal, the lifecycle's conditional expiry and the lister's seeks.
final class VersionStoreConsistencyTests: XCTestCase {
    var fixture: TwoStores!

    override func setUpWithError() throws { fixture = try TwoStores("versions-consistency") }
    override func tearDown() { fixture.remove() }

    static let bucket = VersionStoreTests.bucket

    func stores(_ versioning: Versioning = .enabled) throws -> [any MetadataStore] {
        let stores = try fixture.stores(with: Self.bucket)
        if versioning != .unversioned { for s in stores { try s.setVersioning(bucket: "b", versioning) } }
        return stores
    }

    func record(_ key: String, _ blob: String, at time: Double) -> ObjectRecord { Self.record(key, blob, at: time) }

    static func record(_ key: String, _ blob: String, at time: Double) -> ObjectRecord {
        ObjectRecord(
            bucket: "b", key: key, size: Int64(blob.utf8.count), etag: "e-\(blob)", lastModified: time,
            contentType: "t", headers: [], checksums: [:], zone: "z1", blob: blob)
    }

    @discardableResult
    func put(_ s: any MetadataStore, _ key: String, _ blob: String, at time: Double) throws -> PutOutcome {
        try s.putVersion(record(key, blob, at: time), condition: nil)
    }

    func delete(_ s: any MetadataStore, _ key: String, _ versionId: String?, at time: Double) throws -> DeleteOutcome {
        try s.deleteVersion(bucket: "b", key: key, versionId: versionId, bypassGovernance: false, now: time)
    }

    func entries(_ s: any MetadataStore) throws -> [VersionEntry] {
        try s.listVersions(bucket: "b", query: VersionListQuery()).entries
    }

    func name(_ s: any MetadataStore) -> String { "\(type(of: s))" }

    /// Each key listed has exactly one latest entry, its first; no version id twice; at most
    /// one null version per key. Returns what is wrong ("" when nothing).
    func brokenInvariant(_ entries: [VersionEntry]) -> String {
        var latest: [String: Int] = [:]
        var ids = Set<String>()
        var previousKey: String?
        for e in entries {
            let first = e.record.key != previousKey
            previousKey = e.record.key
            if e.isLatest != first { return "\(e.record.key): latest is not exactly the first entry" }
            latest[e.record.key, default: 0] += e.isLatest ? 1 : 0
            if !ids.insert(e.record.key + " " + e.record.versionId).inserted {
                return "\(e.record.key) \(e.record.versionId) listed twice"
            }
        }
        return ""
    }

    // MARK: concurrent reads (SQLite: each thread has its own connection)

    /// A writer moves a key's first version between the tables (a newer version written, then
    /// removed, over and over) while a reader lists and looks it up: every read sees one
    /// snapshot of both tables, so the version is always there, once.
    func testReadsSeeOneSnapshotWhileAWriterMovesVersions() throws {
        let store = try XCTUnwrap(try stores().first as? SQLMetadataStore)
        let pinned = try put(store, "k", "pinned", at: 1).stored
        try put(store, "j", "other", at: 1)
        final class Shared: Sendable {
            let stop = Atomic(false)
            let failure = Mutex<String?>(nil)
        }
        let shared = Shared()
        let writer = Thread {
            var time = 2.0
            func delete(_ id: String?) throws(StoreError) -> DeleteOutcome {
                try store.deleteVersion(bucket: "b", key: "k", versionId: id, bypassGovernance: false, now: time)
            }
            while !shared.stop.load(ordering: .relaxed) {
                do {
                    time += 1
                    let newer = try store.putVersion(Self.record("k", "n\(time)", at: time), condition: nil).stored
                    if Int(time) % 3 == 0, let marker = try delete(nil).marker {
                        // A marker too, then both go.
                        _ = try delete(marker.versionId)
                    }
                    _ = try delete(newer.versionId)
                } catch {
                    shared.failure.withLock { $0 = "\(error)" }
                    return
                }
            }
        }
        writer.start()
        defer { shared.stop.store(true, ordering: .relaxed) }
        var problems: [String] = []
        let deadline = Date().addingTimeInterval(3)
        var reads = 0
        while Date() < deadline && problems.isEmpty {
            reads += 1
            let listed = try entries(store)
            let broken = brokenInvariant(listed)
            if !broken.isEmpty { problems.append("listing: \(broken)") }
            if !listed.contains(where: { $0.record.versionId == pinned.versionId }) {
                problems.append("listing without the pinned version")
            }
            if try store.version(bucket: "b", key: "k", versionId: pinned.versionId) == nil {
                problems.append("version(versionId:) missed the pinned version")
            }
            if try store.version(bucket: "b", key: "k", generation: pinned.generation) == nil {
                problems.append("version(generation:) missed the pinned version")
            }
            if try store.latestVersion(bucket: "b", key: "k") == nil { problems.append("latestVersion: nil") }
        }
        shared.stop.store(true, ordering: .relaxed)
        while !writer.isFinished { usleep(1000) }
        XCTAssertNil(shared.failure.withLock { $0 })
        XCTAssertEqual(problems, [], "after \(reads) reads")
        XCTAssertGreaterThan(reads, 10)
    }

    // MARK: random sequences on both stores

    /// SplitMix64: the same sequence on every run.
    struct Seeded: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// One line per entry, the version id masked ("null" or "id").
    func masked(_ entries: [VersionEntry]) -> [String] {
        entries.map {
            let r = $0.record
            let id = r.versionId == VersionId.null ? "null" : "id"
            return "\(r.key) \(r.isDeleteMarker ? "marker" : r.blob) \(id) \($0.isLatest ? "latest" : "-")"
                + " since \(r.noncurrentSince)"
        }
    }

    func testRandomSequencesLeaveBothStoresAlikeAndEveryBlobAccountedFor() throws {
        let stores = try stores(.unversioned)
        var rng = Seeded(state: 20_261_129)
        var written = Set<String>()
        var removed = [Set<String>](repeating: [], count: stores.count)
        var versioned = false
        for step in 1...400 {
            let key = ["a", "b", "c"].randomElement(using: &rng)!
            let time = Double(step)
            let roll = Int.random(in: 0..<100, using: &rng)
            let listed = try entries(stores[0])
            let ofKey = listed.indices.filter { listed[$0].record.key == key }
            var what = ""
            var gone: [ObjectRecord?] = []
            switch roll {
            case 0..<40:
                let blob = "x\(step)"
                what = "put \(key)"
                written.insert(blob)
                for s in stores { gone.append(try put(s, key, blob, at: time).removed) }
            case 40..<60:
                what = "delete \(key)"
                for s in stores { gone.append(try delete(s, key, nil, at: time).removed) }
            case 60..<85 where !ofKey.isEmpty:
                // The same position in each store's listing (they are compared equal below).
                let position = ofKey.randomElement(using: &rng)!
                what = "delete \(key) entry \(position)"
                for s in stores {
                    let id = try entries(s)[position].record.versionId
                    gone.append(try delete(s, key, id, at: time).removed)
                }
            case 85..<93:
                what = "suspend"
                versioned = true
                for s in stores { try s.setVersioning(bucket: "b", .suspended) }
            default:
                what = "enable"
                versioned = true
                for s in stores { try s.setVersioning(bucket: "b", .enabled) }
            }
            let context = "step \(step) (\(what), versioned: \(versioned))"
            for (i, r) in gone.enumerated() {
                guard let r, !r.isDeleteMarker else { continue }
                XCTAssertTrue(removed[i].insert(r.blob).inserted, "\(context): \(r.blob) removed twice")
            }
            let listings = try stores.map { try entries($0) }
            XCTAssertEqual(masked(listings[0]), masked(listings[1]), context)
            for (i, l) in listings.enumerated() {
                XCTAssertEqual(brokenInvariant(l), "", "\(context) \(name(stores[i]))")
                let live = Set(l.filter { !$0.record.isDeleteMarker }.map(\.record.blob))
                XCTAssertTrue(live.isDisjoint(with: removed[i]), "\(context) \(name(stores[i])): listed yet removed")
                XCTAssertEqual(live.union(removed[i]), written, "\(context) \(name(stores[i])): a blob is lost")
            }
            if testRun?.failureCount ?? 0 > 0 { return }
        }
    }

    /// The agent's count of the bytes each zone holds: every version's stored size in its zone
    /// and in each zone with a completed replica, never a marker's nor a pending or failed
    /// replica's; encrypted versions by their stored (ciphertext) size. The SQL store adds up
    /// most of it in the database; both stores agree with the versions they list.
    func testStoredBytesPerZoneCountEveryCopyOfEveryVersion() throws {
        let stores = try stores()
        for s in stores {
            for i in 0..<90 {
                var o = record("k\(i % 7)", "b\(i)", at: Double(i + 1))
                o.size = Int64(i * 1000 + 17)
                o.zone = ["z1", "z2", "z3"][i % 3]
                o.replicas = [
                    Replica(zone: "r1", backendBucket: "x", blob: "c\(i)", state: i % 2 == 0 ? .completed : .pending),
                    Replica(zone: "r2", backendBucket: "x", blob: "d\(i)", state: i % 4 < 2 ? .completed : .failed),
                ].prefix(i % 3)
                    .map { $0 }
                if i % 5 == 0 { o.sse = "sealed" }
                if i % 10 == 0 { o.partSizes = [Int64(i * 500), Int64(i * 500 + 17)] }
                _ = try s.putVersion(o, condition: nil)
                if i % 11 == 0 { _ = try delete(s, o.key, nil, at: Double(i) + 1.5) }
                if i == 45 { try s.setVersioning(bucket: "b", .suspended) }
            }
        }
        for s in stores {
            var expected: [String: Int64] = [:]
            var versions = 0
            for e in try entries(s) where !e.record.isDeleteMarker {
                let o = e.record
                versions += 1
                expected[o.zone, default: 0] += o.storedSize
                for r in o.replicas where r.state == .completed { expected[r.zone, default: 0] += o.storedSize }
            }
            XCTAssertGreaterThan(versions, 40, name(s))
            XCTAssertEqual(try s.storedBytesPerZone(), expected, name(s))
            XCTAssertEqual(Set(expected.keys), ["z1", "z2", "z3", "r1", "r2"], name(s))
        }
        XCTAssertEqual(try stores[0].storedBytesPerZone(), try stores[1].storedBytesPerZone())
        // Read a few rows at a time, the second pass adds up the same.
        let sql = try XCTUnwrap(stores[0] as? SQLMetadataStore)
        for page in [1, 7, 1000] {
            XCTAssertEqual(try sql.storedBytesPerZone(page: page), try stores[1].storedBytesPerZone())
        }
    }

    // MARK: Suspended corners

    func testASuspendedPutOverALatestNullMarkerRemovesTheMarker() throws {
        for s in try stores() {
            try put(s, "k", "a", at: 10)
            try s.setVersioning(bucket: "b", .suspended)
            let marker = try XCTUnwrap(try delete(s, "k", nil, at: 11).marker)
            XCTAssertEqual(marker.versionId, VersionId.null)
            let outcome = try put(s, "k", "n", at: 12)
            XCTAssertEqual(outcome.removed?.isDeleteMarker, true, name(s))
            XCTAssertEqual(outcome.stored.versionId, VersionId.null)
            XCTAssertEqual(masked(try entries(s)), ["k n null latest since 0.0", "k a id - since 11.0"], name(s))
            let record = try XCTUnwrap(try s.auditRecords(AuditQuery(change: "object.delete")).last, name(s))
            XCTAssertTrue(record.detail.contains(#""version_id":"null""#), record.detail)
            XCTAssertTrue(record.detail.contains(#""delete_marker":true"#), record.detail)
        }
    }

    func testASuspendedDeleteRemovesANoncurrentNullVersionUnderAnEnabledLatest() throws {
        for s in try stores(.unversioned) {
            try put(s, "k", "n", at: 10)
            try s.setVersioning(bucket: "b", .enabled)
            try put(s, "k", "a", at: 11)
            try s.setVersioning(bucket: "b", .suspended)
            let outcome = try delete(s, "k", nil, at: 12)
            XCTAssertEqual(outcome.removed?.blob, "n", name(s))
            XCTAssertEqual(outcome.marker?.versionId, VersionId.null)
            XCTAssertEqual(
                masked(try entries(s)), ["k marker null latest since 0.0", "k a id - since 12.0"], name(s))
            let record = try XCTUnwrap(try s.auditRecords(AuditQuery(change: "object.delete")).last, name(s))
            XCTAssertTrue(record.detail.contains(#""version_id":"null""#), record.detail)
        }
    }

    /// The removed null version was not the latest: the put's record names only the new one,
    /// so the removal has its own record, in the same transaction.
    func testASuspendedPutThatReplacesANoncurrentNullVersionAuditsItsRemoval() throws {
        for s in try stores(.unversioned) {
            try put(s, "k", "n", at: 10)
            try s.setVersioning(bucket: "b", .enabled)
            try put(s, "k", "a", at: 11)
            try s.setVersioning(bucket: "b", .suspended)
            let before = try s.auditRecords(AuditQuery()).count
            let outcome = try put(s, "k", "m", at: 12)
            XCTAssertEqual(outcome.removed?.blob, "n", name(s))
            let added = try s.auditRecords(AuditQuery()).dropFirst(before)
            XCTAssertEqual(added.map(\.change), ["object.delete", "object.put"], name(s))
            XCTAssertTrue(added.first?.detail.contains(#""version_id":"null""#) ?? false, name(s))
            XCTAssertTrue(added.first?.detail.contains(#""etag":"e-n""#) ?? false, added.first?.detail ?? "")
        }
    }

    func testAnUnversionedBucketsRecordsStayAsTheyWere() throws {
        for s in try stores(.unversioned) {
            try put(s, "k", "a", at: 10)
            let before = try s.auditRecords(AuditQuery()).count
            try put(s, "k", "b", at: 11)
            _ = try delete(s, "k", nil, at: 12)
            let added = try s.auditRecords(AuditQuery()).dropFirst(before)
            XCTAssertEqual(added.map(\.change), ["object.put", "object.delete"], name(s))
            XCTAssertFalse(added.last?.detail.contains("version_id") ?? true, added.last?.detail ?? "")
        }
    }

    // MARK: the lifecycle's conditional expiry

    func testAnExpiryOfAVersionNoLongerLatestChangesNothing() throws {
        for versioning in [Versioning.enabled, .unversioned] {
            fixture.remove()
            fixture = try TwoStores("versions-consistency")
            for s in try stores(versioning) {
                let judged = try put(s, "k", "a", at: 10).stored
                try put(s, "k", "b", at: 11)
                let before = masked(try entries(s))
                XCTAssertThrowsError(
                    try s.deleteVersion(
                        bucket: "b", key: "k", versionId: nil, bypassGovernance: false, now: 12,
                        ifLatestSeq: judged.versionSeq)
                ) { XCTAssertEqual($0 as? StoreError, .preconditionFailed, "\(versioning) \(self.name(s))") }
                XCTAssertEqual(masked(try entries(s)), before, "\(versioning) \(name(s))")
                XCTAssertThrowsError(
                    try s.deleteVersion(
                        bucket: "b", key: "gone", versionId: nil, bypassGovernance: false, now: 12,
                        ifLatestSeq: judged.versionSeq))
                // The latest still the one judged: it goes as without the condition.
                let latest = try XCTUnwrap(try s.latestVersion(bucket: "b", key: "k"))
                let outcome = try s.deleteVersion(
                    bucket: "b", key: "k", versionId: nil, bypassGovernance: false, now: 12,
                    ifLatestSeq: latest.versionSeq)
                if versioning == .enabled {
                    XCTAssertNotNil(outcome.marker, name(s))
                } else {
                    XCTAssertEqual(outcome.removed?.blob, "b", name(s))
                    XCTAssertEqual(try entries(s).count, 0, name(s))
                }
            }
        }
    }

    // MARK: lookups and seeks

    /// The null version is found through migration 21's index, any other id by primary key.
    func testVersionLookupsUseAnIndex() throws {
        let store = try XCTUnwrap(try stores().first as? SQLMetadataStore)
        let dialect = try store.withConnection { db throws(StoreError) in db.dialect }
        try XCTSkipUnless(dialect == .sqlite, "the plans read here are SQLite's (EXPLAIN QUERY PLAN)")
        func plan(_ sql: String) throws -> String {
            try store.withConnection { db throws(StoreError) in
                var lines: [String] = []
                try db.query("EXPLAIN QUERY PLAN " + sql, [.text("b"), .text("k")]) { r in lines.append(r.text(3)) }
                return lines.joined(separator: "; ")
            }
        }
        let null = try plan(
            "SELECT version_seq FROM object_versions WHERE bucket = ? AND key = ? AND version_id = 'null'")
        XCTAssertTrue(null.contains("object_versions_by_id"), null)
        let byId = try plan(
            "SELECT version_seq FROM object_versions WHERE bucket = ? AND key = ? AND version_seq = 'x'")
        XCTAssertTrue(byId.contains("PRIMARY KEY") || byId.contains("sqlite_autoindex"), byId)
    }

    /// Delimiter listings over keys with several versions, latest delete markers, keys from
    /// before versioning and canonically equal spellings: every (prefix, delimiter) paged at
    /// every size gives the in-memory store's pages. On PostgreSQL this runs the server-side
    /// walk past common prefixes (`walkVersions`).
    func testDelimiterPagesOfVersionsAreTheSameInEveryStore() throws {
        let stores = try stores(.unversioned)
        let keys = [
            "a", "a/1", "a/2/x", "a/2/y", "a/3", "a//", "ab", "b/1", "b/2", "c", "d/e/f", "d/e/g", "é/1", "e\u{301}/2",
            "e/3", "x¿1", "x¿2", "xÀ", "zz/",
        ]
        var time = 1.0
        for s in stores {
            time = 1
            for k in keys.prefix(4) {
                try put(s, k, "old-\(k)", at: time)
                time += 1
            }
            try s.setVersioning(bucket: "b", .enabled)
            for (i, k) in keys.enumerated() {
                for v in 0..<(1 + i % 3) {
                    try put(s, k, "\(k)-\(v)", at: time)
                    time += 1
                }
                if i % 4 == 1 { _ = try delete(s, k, nil, at: time) }
                time += 1
            }
        }
        for prefix in ["", "a", "a/", "d/", "e", "x", "q"] {
            for delimiter in [nil, "/", "¿", "2/"] {
                let whole = try stores.map {
                    try $0.listVersions(bucket: "b", query: VersionListQuery(prefix: prefix, delimiter: delimiter))
                }
                let total = whole[1].entries.count + whole[1].commonPrefixes.count
                for maxKeys in [1, 2, 3, 1000] where maxKeys <= total + 1 {
                    let paged = try stores.map { s in
                        var lines: [String] = []
                        var query = VersionListQuery(prefix: prefix, delimiter: delimiter, maxKeys: maxKeys)
                        for _ in 0..<200 {
                            let page = try s.listVersions(bucket: "b", query: query)
                            lines += page.entries.map {
                                "\(SkipListingTests.Shown.spelled($0.record.key)) \($0.record.blob) \($0.isLatest)"
                            }
                            lines += page.commonPrefixes.map { "CP \(SkipListingTests.Shown.spelled($0))" }
                            guard page.isTruncated else { break }
                            query.keyMarker = try XCTUnwrap(page.nextKeyMarker)
                            query.versionIdMarker = page.nextVersionIdMarker ?? ""
                        }
                        return lines
                    }
                    XCTAssertEqual(paged[0], paged[1], "prefix \(prefix) delimiter \(delimiter ?? "-") max \(maxKeys)")
                }
            }
        }
    }

    /// On PostgreSQL a version listing's delimiter page is a few statements — the rows up to its
    /// first common prefix, then one walk whose seeks run inside the server — not two per
    /// common prefix; the walk's rows are the row-by-row reader's.
    func testOnPostgreSQLAVersionDelimiterPageIsAFewStatements() throws {
        try XCTSkipUnless(storeTestsOnPostgres, "the walk is PostgreSQL's")
        let store = try XCTUnwrap(try stores().first as? SQLMetadataStore)
        // 1200 "directories" of two keys, each key with a newer and an older version; every
        // third key's latest is a delete marker (no row in `objects`).
        try store.withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                for d in 0..<1200 {
                    for k in ["\(d)/a", "\(d)/b"] {
                        var older = record("dir\(k)", "o", at: 1)
                        older.versionSeq = VersionId.make(after: "", now: 1)
                        older.versionId = older.versionSeq
                        older.noncurrentSince = 2
                        try SQLMetadataStore.insert(older, into: "object_versions", db)
                        var newer = ObjectRecord.deleteMarker(bucket: "b", key: "dir\(k)", at: 2)
                        if d % 3 != 0 { newer = record("dir\(k)", "n", at: 2) }
                        newer.versionSeq = VersionId.make(after: older.versionSeq, now: 2)
                        newer.versionId = newer.versionSeq
                        try SQLMetadataStore.insert(newer, into: d % 3 == 0 ? "object_versions" : "objects", db)
                    }
                }
                for k in ["flat1", "flat2"] { try SQLMetadataStore.insert(record(k, "f", at: 3), db) }
            }
        }
        // The walk's steps and rows are index probes, never a scan of either table.
        let plan = try store.withConnection { db throws(StoreError) in
            try db.exec("ANALYZE objects")
            try db.exec("ANALYZE object_versions")
            let args = SQLMetadataStore.versionWalkArgs(
                bucket: "b", start: "dir", above: "", skip: SQLMetadataStore.skipArgs(prefix: "dir", ("/", "0")),
                steps: 1001, prefix: "dir")
            var lines: [String] = []
            try db.query("EXPLAIN " + SQLMetadataStore.versionWalkSQL, args) { r in lines.append(r.text(0)) }
            return lines.joined(separator: "\n")
        }
        XCTAssertFalse(plan.contains("Seq Scan"), plan)
        XCTAssertTrue(plan.contains("object_versions_pkey") && plan.contains("objects_pkey"), plan)
        func read(_ q: VersionListQuery) throws -> (page: VersionPage, statements: Int) {
            try store.withConnection { db throws(StoreError) in
                let counting = CountingConnection(db)
                let page = try SQLMetadataStore.listVersions("b", q, counting)
                return (page, counting.statements)
            }
        }
        var r = try read(VersionListQuery(prefix: "dir", delimiter: "/"))
        XCTAssertEqual(r.page.commonPrefixes.count, 1000)
        XCTAssertEqual(r.page.commonPrefixes.prefix(3), ["dir0/", "dir1/", "dir10/"])
        XCTAssertTrue(r.page.isTruncated)
        XCTAssertEqual(r.page.nextKeyMarker, r.page.commonPrefixes.last)
        XCTAssertEqual(r.statements, 3, "the first row of each table, then the walk")
        // The next page from its marker: the other 200, then nothing more.
        r = try read(VersionListQuery(prefix: "dir", delimiter: "/", keyMarker: r.page.nextKeyMarker ?? ""))
        XCTAssertEqual(r.page.commonPrefixes.count, 200)
        XCTAssertFalse(r.page.isTruncated)
        XCTAssertEqual(r.statements, 3)
        // Plain keys between common prefixes come with every version, newest first, the latest
        // flagged as such — a delete marker for every third directory (dir12/b here).
        r = try read(VersionListQuery(delimiter: "/", keyMarker: "dir998/"))
        XCTAssertEqual(r.page.commonPrefixes, ["dir999/"])
        XCTAssertEqual(r.page.entries.map(\.record.key), ["flat1", "flat2"])
        XCTAssertFalse(r.page.isTruncated)
        r = try read(VersionListQuery(prefix: "dir1", delimiter: "a"))
        let shown = r.page.entries.prefix(4).map { "\($0.record.key) \($0.record.blob) \($0.isLatest)" }
        XCTAssertEqual(shown, ["dir1/b n true", "dir1/b o false", "dir10/b n true", "dir10/b o false"])
        XCTAssertEqual(r.page.commonPrefixes.prefix(2), ["dir1/a", "dir10/a"])
        let dir12 = r.page.entries.filter { $0.record.key == "dir12/b" }
        XCTAssertEqual(dir12.map(\.record.isDeleteMarker), [true, false])
        XCTAssertEqual(dir12.map(\.isLatest), [true, false])
        // dir1, dir10…dir19, dir100…dir199, dir1000…dir1199: 311 common prefixes, 622 versions.
        XCTAssertEqual(r.page.commonPrefixes.count, 311)
        XCTAssertEqual(r.page.entries.count, 622)
        XCTAssertFalse(r.page.isTruncated)
        XCTAssertEqual(r.statements, 3)
    }

    /// After a common prefix, keys with many versions each: the walk stops once its keys bring
    /// the page's entries, so one statement returns about a page of rows, not every version of
    /// every key it could reach.
    func testOnPostgreSQLAVersionWalkReadsAboutAPageOfRows() throws {
        try XCTSkipUnless(storeTestsOnPostgres, "the walk is PostgreSQL's")
        let stores = try stores()
        let store = try XCTUnwrap(stores.first as? SQLMetadataStore)
        for s in stores {
            var time = 1.0
            for k in ["a/x"] + (0..<30).map({ "k\($0 < 10 ? "0" : "")\($0)" }) {
                for v in 0..<(k == "a/x" ? 1 : 40) {
                    try put(s, k, "\(k)-\(v)", at: time)
                    time += 1
                }
            }
        }
        // Each store pages with its own markers (version ids differ between them).
        var listed: [[String]] = [[], []]
        var mostRows = 0
        var pageCount = [0, 0]
        for (i, s) in stores.enumerated() {
            var query = VersionListQuery(delimiter: "/", maxKeys: 100)
            while pageCount[i] < 50 {
                let page =
                    try store === (s as AnyObject)
                    ? store.withConnection { db throws(StoreError) -> VersionPage in
                        let counting = CountingConnection(db)
                        defer { mostRows = max(mostRows, counting.mostRowsBySQL[SQLMetadataStore.versionWalkSQL] ?? 0) }
                        return try SQLMetadataStore.listVersions("b", query, counting)
                    } : s.listVersions(bucket: "b", query: query)
                listed[i] +=
                    page.commonPrefixes + page.entries.map { "\($0.record.key) \($0.record.blob) \($0.isLatest)" }
                pageCount[i] += 1
                guard page.isTruncated else { break }
                query.keyMarker = page.nextKeyMarker ?? ""
                query.versionIdMarker = page.nextVersionIdMarker ?? ""
            }
        }
        // Every version of 30 keys (1200) reachable from the first page's walk: it read about a
        // page of rows (the page, the row that truncates it, the last key's rest).
        XCTAssertLessThanOrEqual(mostRows, 2 * 101 + 2)
        XCTAssertGreaterThan(mostRows, 90, "the first page walked")
        XCTAssertEqual(listed[0], listed[1])
        XCTAssertEqual(listed[0].count, 1 + 30 * 40)
        XCTAssertEqual(pageCount, [13, 13])
    }

    func testAPrefixSuccessorIsValidUTF8AfterAContinuationByte() {
        // "¿" is C2 BF: the next byte string (C2 C0) is not UTF-8; the next scalar ("À") is.
        XCTAssertEqual(VersionLister.successor(ofPrefix: Array("a¿".utf8)), "aÀ")
        XCTAssertEqual(VersionLister.successor(ofPrefix: Array("a\u{D7FF}".utf8)), "a\u{E000}")
        XCTAssertEqual(VersionLister.successor(ofPrefix: Array("a\u{10FFFF}".utf8)), "b")
        XCTAssertNil(VersionLister.successor(ofPrefix: Array("\u{10FFFF}".utf8)))
        XCTAssertEqual(VersionLister.successor(ofPrefix: Array("a/".utf8)), "a0")
    }

    func testAListingRollsUpUnderAMultiByteDelimiter() throws {
        for s in try stores() {
            for (i, key) in ["x¿1", "x¿2", "x¿3", "xÀ", "y"].enumerated() { try put(s, key, "v\(i)", at: 10) }
            let page = try s.listVersions(bucket: "b", query: VersionListQuery(delimiter: "¿"))
            XCTAssertEqual(page.commonPrefixes, ["x¿"], name(s))
            XCTAssertEqual(page.entries.map(\.record.key), ["xÀ", "y"], name(s))
        }
    }

    func testAVersionMarkerBeforeThePrefixStartsAtThePrefix() throws {
        var q = VersionListQuery(prefix: "m")
        q.keyMarker = "a"
        q.versionIdMarker = "0123456789abcdef0123456789abcdef"
        let lister = VersionLister(query: q, markerSeq: q.versionIdMarker)
        XCTAssertEqual(lister.start.key, "m")
        XCTAssertNil(lister.start.seqBelow)
        XCTAssertTrue(lister.start.inclusive)
        for s in try stores() {
            let a = try put(s, "a", "a1", at: 10).stored
            try put(s, "a", "a2", at: 11)
            try put(s, "m1", "m", at: 12)
            var query = VersionListQuery(prefix: "m")
            query.keyMarker = "a"
            query.versionIdMarker = a.versionId
            let page = try s.listVersions(bucket: "b", query: query)
            XCTAssertEqual(page.entries.map(\.record.key), ["m1"], name(s))
        }
    }
}
