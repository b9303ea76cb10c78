import Foundation
import GatewayCore
import Synchronization
import XCTest

@testable import MetadataSQL
@testable import MetadataSQLite

/// Bucket records are cached per process and never served stale across the host: two stores on
/// one file (as two worker processes are) see each other's bucket changes at once, whichever
/// way they were made; object reads are never cached; a rolled-back change moves nothing.
final class BucketRecordCacheTests: XCTestCase {
    private var dir = ""
    private var path = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "bucket-cache-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        path = dir + "/m.db"
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    private func object(_ key: String, etag: String) -> ObjectRecord {
        ObjectRecord(
            bucket: "b", key: key, size: 1, etag: etag, lastModified: 1, contentType: "t", headers: [], checksums: [:],
            zone: "z", blob: "ab12")
    }

    private func hits(_ store: SQLMetadataStore) -> Int { store.bucketCache!.hits.load(ordering: .relaxed) }

    func testEveryChangeIsSeenAtOnceByTheOtherProcess() throws {
        let a = try SQLMetadataStore(sqlitePath: path)
        let b = try SQLMetadataStore(sqlitePath: path)
        _ = try b.createBucket(
            BucketRecord(
                name: "b", owner: "o", createdAt: 1, locationConstraint: "", zones: ["z"], backendBucket: "s3gw-x"))
        XCTAssertEqual(try a.bucket(named: "b")?.versioning, .unversioned)
        XCTAssertEqual(try a.bucket(named: "b")?.versioning, .unversioned)
        XCTAssertEqual(hits(a), 1, "the second read is the cache's")

        try b.setVersioning(bucket: "b", .enabled)
        XCTAssertEqual(try a.bucket(named: "b")?.versioning, .enabled, "a change through the other store")
        XCTAssertEqual(try a.bucketAndObject(bucket: "b", key: "k")?.0.versioning, .enabled)

        // Objects are read every time, also when the bucket comes from the cache.
        _ = try b.putObject(object("k", etag: "one"))
        let before = hits(a)
        XCTAssertEqual(try a.bucketAndObject(bucket: "b", key: "k")?.1?.etag, "one")
        _ = try b.putObject(object("k", etag: "two"))
        XCTAssertEqual(try a.bucketAndObject(bucket: "b", key: "k")?.1?.etag, "two")
        XCTAssertEqual(hits(a), before + 2, "object changes leave the bucket's entry good")

        // A change made with plain SQL on another connection (the admin tools' way).
        let raw = try SQLiteConnection(path: path)
        try raw.query("UPDATE buckets SET policy = ? WHERE name = ?", [.text("{\"p\":1}"), .text("b")]) { _ in }
        XCTAssertEqual(try a.bucket(named: "b")?.policy, "{\"p\":1}")
        XCTAssertEqual(try a.bucketAndObject(bucket: "b", key: "k")?.0.policy, "{\"p\":1}")

        // A bucket deleted (an unversioned one, empty).
        _ = try b.createBucket(
            BucketRecord(
                name: "c", owner: "o", createdAt: 1, locationConstraint: "", zones: ["z"], backendBucket: "s3gw-y"))
        XCTAssertNotNil(try a.bucket(named: "c"))
        XCTAssertNotNil(try a.bucketAndObject(bucket: "c", key: "k"))
        try b.deleteBucket(named: "c")
        XCTAssertNil(try a.bucket(named: "c"))
        XCTAssertNil(try a.bucketAndObject(bucket: "c", key: "k"))
    }

    /// Two spellings of one database (a symlink, as another host may name it) share one
    /// generation; a store with the cache off caches nothing (its changes still count).
    func testSpellingsShareTheGenerationAndTheSwitchTurnsTheCacheOff() throws {
        let a = try SQLMetadataStore(sqlitePath: path)
        try FileManager.default.createSymbolicLink(atPath: dir + "/link.db", withDestinationPath: path)
        let b = try SQLMetadataStore(sqlitePath: dir + "/link.db", bucketCache: false)
        XCTAssertNil(b.bucketCache)
        _ = try b.createBucket(
            BucketRecord(
                name: "b", owner: "o", createdAt: 1, locationConstraint: "", zones: ["z"], backendBucket: "s3gw-x"))
        XCTAssertEqual(try a.bucket(named: "b")?.versioning, .unversioned)
        try b.setVersioning(bucket: "b", .enabled)
        XCTAssertEqual(try a.bucket(named: "b")?.versioning, .enabled)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/link.db-buckets"))
    }

    /// An action run once, by the next object-only read (a GET whose bucket came from the cache).
    final class Hook: @unchecked Sendable {
        let action = Mutex<(() -> Void)?>(nil)
        func take() -> (() -> Void)? {
            action.withLock { a in
                defer { a = nil }
                return a
            }
        }
        func before(_ sql: String) {
            if sql.contains("FROM objects WHERE bucket = ? AND key = ?"), let run = take() { run() }
        }
    }

    /// The bucket is deleted and another tenant's made under its name between the cached lookup
    /// and the object read: the GET gets the new bucket's record with the new bucket's object,
    /// never the old record (its owner, its policy) with the new bucket's object.
    func testABucketMadeAgainDuringTheObjectReadIsNotPairedWithTheOldRecord() throws {
        let writer = try SQLMetadataStore(sqlitePath: path)
        let generation = try XCTUnwrap(SQLiteConnection(path: path).bucketGeneration())
        let hook = Hook()
        let file = path
        let reader = try SQLMetadataStore(bucketGeneration: generation) { () throws(StoreError) -> any SQLConnection in
            CountingConnection(try SQLiteConnection(path: file), beforeQuery: hook.before)
        }
        _ = try writer.createBucket(
            BucketRecord(
                name: "b", owner: "first", createdAt: 1, locationConstraint: "", zones: ["z"], backendBucket: "s3gw-1"))
        XCTAssertEqual(try reader.bucket(named: "b")?.owner, "first")
        hook.action.withLock {
            $0 = {
                do {
                    try writer.deleteBucket(named: "b")
                    _ = try writer.createBucket(
                        BucketRecord(
                            name: "b", owner: "second", createdAt: 2, locationConstraint: "", zones: ["z"],
                            backendBucket: "s3gw-2"))
                    _ = try writer.putObject(
                        ObjectRecord(
                            bucket: "b", key: "k", size: 1, etag: "seconds", lastModified: 1, contentType: "t",
                            headers: [], checksums: [:], zone: "z", blob: "ab12"))
                } catch { XCTFail("\(error)") }
            }
        }
        let (bucket, object) = try XCTUnwrap(try reader.bucketAndObject(bucket: "b", key: "k"))
        XCTAssertNil(hook.take(), "the object read from the cached bucket ran")
        XCTAssertEqual(object?.etag, "seconds")
        XCTAssertEqual(bucket.owner, "second")
        XCTAssertEqual(bucket.backendBucket, "s3gw-2")
    }

    /// A transaction that changed a bucket row and rolled back leaves the generation where it
    /// was; one that committed moves it once.
    func testOnlyCommittedChangesMoveTheGeneration() throws {
        let store = try SQLMetadataStore(sqlitePath: path)
        _ = try store.createBucket(
            BucketRecord(
                name: "b", owner: "o", createdAt: 1, locationConstraint: "", zones: ["z"], backendBucket: "s3gw-x"))
        let generation = try XCTUnwrap(SQLiteConnection(path: path).bucketGeneration())
        let start = generation.current
        let raw = try SQLiteConnection(path: path)
        XCTAssertThrowsError(
            try raw.transaction { () throws(StoreError) in
                try raw.query("UPDATE buckets SET tags = 'x' WHERE name = 'b'", []) { _ in }
                throw StoreError.noSuchBucket
            })
        XCTAssertEqual(generation.current, start)
        try raw.transaction { () throws(StoreError) in
            try raw.query("UPDATE buckets SET tags = 'y' WHERE name = 'b'", []) { _ in }
        }
        XCTAssertEqual(generation.current, start + 1)
    }

    /// Entries last `ttl` at most, whatever the generation (a change made outside the gateway).
    func testEntriesExpire() throws {
        let generation = try XCTUnwrap(SharedGeneration(path: dir + "/g"))
        let cache = BucketRecordCache(generation: generation, ttl: 1)
        let record = BucketRecord(
            name: "b", owner: "o", createdAt: 1, locationConstraint: "", zones: [], backendBucket: "s3gw-x")
        cache.insert(record, readAt: generation.current)
        XCTAssertNotNil(cache.lookup("b"))
        let deadline = Date().addingTimeInterval(10)
        while cache.lookup("b") != nil, Date() < deadline { usleep(10_000) }
        XCTAssertNil(cache.lookup("b"))
        cache.insert(record, readAt: generation.current &- 1)
        XCTAssertNil(cache.lookup("b"), "read before a change: never served")
    }

    /// Two mappings of one file (two processes) see each other's advances; a directory that
    /// cannot hold the file gives none.
    func testTheGenerationIsSharedThroughItsFile() throws {
        let one = try XCTUnwrap(SharedGeneration(path: dir + "/g"))
        let two = try XCTUnwrap(SharedGeneration(path: dir + "/g"))
        one.advance()
        one.advance()
        XCTAssertEqual(two.current, 2)
        two.advance()
        XCTAssertEqual(one.current, 3)
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: dir + "/g")[.size] as? Int, 8)
        XCTAssertNil(SharedGeneration(path: dir + "/missing/g"))
    }
}
