import Foundation
import GatewayCore
import GatewayTesting
import MetadataSQL
import MetadataSQLite
import XCTest

final class SQLMetadataStoreTests: XCTestCase {
    var dir: String!
    var store: SQLMetadataStore!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "s3gw-meta-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        store = try sqlStore(dir: dir)
        _ = try store.createBucket(
            BucketRecord(
                name: "b", owner: "o", createdAt: 1, locationConstraint: "", zones: ["z"], backendBucket: "s3gw-x"))
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func put(_ key: String) throws {
        _ = try store.putObject(
            ObjectRecord(
                bucket: "b", key: key, size: 1, etag: "e", lastModified: 1, contentType: "t",
                headers: [Header("x-amz-meta-a", "1")],
                checksums: ["crc32": "AAAAAA=="], zone: "z", blob: "ab12"))
    }

    func testReopenKeepsDataAndMigrationsAreIdempotent() throws {
        try put("k")
        let again = try sqlStore(dir: dir)
        let o = try again.object(bucket: "b", key: "k")
        XCTAssertEqual(o?.headers, [Header("x-amz-meta-a", "1")])
        XCTAssertEqual(o?.checksums, ["crc32": "AAAAAA=="])
    }

    func testListsInByteOrderWithDelimiterAndPaging() throws {
        for k in ["a/1", "a/2", "a/b/3", "b", "c/", "é", "z"] { try put(k) }
        var page = try store.listObjects(bucket: "b", query: ListQuery(delimiter: "/"))
        XCTAssertEqual(page.objects.map(\.key), ["b", "é", "z"].sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        XCTAssertEqual(page.commonPrefixes, ["a/", "c/"])
        page = try store.listObjects(bucket: "b", query: ListQuery(prefix: "a/", delimiter: "/"))
        XCTAssertEqual(page.objects.map(\.key), ["a/1", "a/2"])
        XCTAssertEqual(page.commonPrefixes, ["a/b/"])
        var all: [String] = []
        var after = ""
        while true {
            let p = try store.listObjects(bucket: "b", query: ListQuery(after: after, maxKeys: 2))
            all += p.objects.map(\.key)
            guard p.isTruncated, let last = p.last else { break }
            after = last
        }
        XCTAssertEqual(all, ["a/1", "a/2", "a/b/3", "b", "c/", "z", "é"])
        let cp = try store.listObjects(bucket: "b", query: ListQuery(delimiter: "/", after: "a/", maxKeys: 1))
        XCTAssertEqual(cp.objects.map(\.key), ["b"])
        XCTAssertTrue(cp.isTruncated)
    }

    func testBucketRulesAndConcurrentWriters() throws {
        XCTAssertThrowsError(
            try store.createBucket(
                BucketRecord(
                    name: "b", owner: "other", createdAt: 1, locationConstraint: "", zones: ["z"], backendBucket: "y",
                    tenant: "other-tenant"))
        ) { XCTAssertEqual($0 as? StoreError, .bucketAlreadyExists) }
        try put("k")
        XCTAssertThrowsError(try store.deleteBucket(named: "b")) { XCTAssertEqual($0 as? StoreError, .bucketNotEmpty) }
        // Separate stores on one file stand for separate worker processes.
        let dir = self.dir!
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            let s = try! sqlStore(dir: dir)
            for j in 0..<25 {
                _ = try! s.putObject(
                    ObjectRecord(
                        bucket: "b", key: "c-\(i)-\(j)", size: 1, etag: "e", lastModified: 1, contentType: "t",
                        headers: [], checksums: [:], zone: "z", blob: "ab"))
            }
        }
        XCTAssertEqual(
            try store.listObjects(bucket: "b", query: ListQuery(prefix: "c-", maxKeys: 1000)).objects.count, 200)
    }

    /// Two uploads of one part number: the one that finished last stays, in whichever order
    /// their records arrive; the loser is handed back as garbage. Both stores agree.
    func testThePartThatFinishedLastStays() throws {
        for store in [store!, InMemoryMetadataStore()] as [any MetadataStore] {
            if store is InMemoryMetadataStore {
                _ = try store.createBucket(
                    BucketRecord(
                        name: "b", owner: "o", createdAt: 1, locationConstraint: "", zones: ["z"], backendBucket: "x"))
            }
            try store.createUpload(
                UploadRecord(
                    uploadId: "race", bucket: "b", key: "k", initiated: 1, contentType: "t", headers: [],
                    checksumAlgorithm: "", zone: "z"))
            func part(_ blob: String, finished: Double) -> PartRecord {
                PartRecord(
                    uploadId: "race", partNumber: 1, size: 1, etag: blob, lastModified: finished, checksums: [:],
                    blob: blob)
            }
            XCTAssertNil(try store.putPart(part("b", finished: 5)))
            XCTAssertEqual(try store.putPart(part("a", finished: 3))?.blob, "a", "finished first, recorded last")
            XCTAssertEqual(try store.parts(uploadId: "race", after: 0, limit: 10).map(\.blob), ["b"])
            XCTAssertEqual(try store.putPart(part("c", finished: 7))?.blob, "b")
            XCTAssertEqual(try store.putPart(part("d", finished: 7))?.blob, "c", "a tie goes to the later record")
            XCTAssertEqual(try store.parts(uploadId: "race", after: 0, limit: 10).map(\.blob), ["d"])
        }
    }

    func testMultipartLifecycleKeepsTagsAndPartsInOrder() throws {
        let up = UploadRecord(
            uploadId: "u1", bucket: "b", key: "mp", initiated: 2, contentType: "t",
            headers: [Header("x-amz-meta-a", "1")],
            checksumAlgorithm: "crc32", zone: "z", tags: [Header("k:1", "v%2")])
        try store.createUpload(up)
        XCTAssertEqual(try store.upload(id: "u1"), up)
        for n in [3, 1, 2] {
            _ = try store.putPart(
                PartRecord(
                    uploadId: "u1", partNumber: n, size: 5, etag: "e\(n)", lastModified: 3, checksums: [:],
                    blob: "b\(n)"))
        }
        XCTAssertEqual(try store.parts(uploadId: "u1", after: 1, limit: 10).map(\.partNumber), [2, 3])
        XCTAssertEqual(
            try store.uploads(bucket: "b", prefix: "m", keyMarker: "", uploadIdMarker: "", limit: 10).count, 1)
        let object = ObjectRecord(
            bucket: "b", key: "mp", size: 10, etag: "x-2", lastModified: 4, contentType: "t", headers: [],
            checksums: [:],
            zone: "z", blob: "", parts: [BlobPart(blob: "b1", size: 5), BlobPart(blob: "b2", size: 5)], tags: up.tags,
            uploadId: "u1", partSizes: [5, 5])
        let (replaced, parts) = try store.completeUpload("u1", object: object, condition: .noneExists)
        XCTAssertNil(replaced)
        XCTAssertEqual(parts.count, 3)
        // As given, with the seq the store assigned.
        var stored = try XCTUnwrap(try store.object(bucket: "b", key: "mp"))
        XCTAssertEqual(stored.versionSeq.utf8.count, 32)
        stored.versionSeq = ""
        XCTAssertEqual(stored, object)
        XCTAssertNil(try store.upload(id: "u1"))
        XCTAssertThrowsError(try store.abortUpload("u1")) { XCTAssertEqual($0 as? StoreError, .noSuchUpload) }
        try store.setObjectTags(bucket: "b", key: "mp", tags: [])
        XCTAssertEqual(try store.bucketAndObject(bucket: "b", key: "mp")?.1?.tags, [])
        try store.setBucketTags(bucket: "b", tags: [Header("env", "x")])
        XCTAssertEqual(try store.bucket(named: "b")?.tags, [Header("env", "x")])
    }
}

final class SQLiteConnectionLifetimeTests: XCTestCase {
    /// File descriptors of this process open on the database or its WAL files.
    private func openHandles(_ path: String) -> Int {
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return fds.filter { fd in
            ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + fd)) ?? "").hasPrefix(path)
        }.count
    }

    func testDroppingTheStoreClosesTheConnectionsOfThreadsThatLiveOn() throws {
        let path = NSTemporaryDirectory() + "s3gw-conn-\(UUID().uuidString).db"
        defer {
            for suffix in ["", "-wal", "-shm", "-buckets"] {
                try? FileManager.default.removeItem(atPath: path + suffix)
            }
        }
        var store: SQLMetadataStore? = try SQLMetadataStore(sqlitePath: path)
        let used = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        for _ in 0..<3 {
            Thread { [weak store] in
                _ = try? store?.listBuckets(tenant: "x")
                used.signal()
                release.wait()  // the thread outlives the store
            }.start()
        }
        for _ in 0..<3 { used.wait() }
        XCTAssertGreaterThanOrEqual(openHandles(path), 3)
        store = nil
        XCTAssertEqual(openHandles(path), 0, "connections of live threads stay open after the store is gone")
        for _ in 0..<3 { release.signal() }
    }
}
