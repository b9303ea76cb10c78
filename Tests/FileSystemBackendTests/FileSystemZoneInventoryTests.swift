import FileSystemBackend
import Foundation
import GatewayCore
import XCTest

/// What a filesystem zone holds, read from the directory itself: backend buckets, blobs in id
/// order page by page with their sizes, one blob's stat.
final class FileSystemZoneInventoryTests: XCTestCase {
    var root = ""
    var zone: FileSystemZone!

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "s3gw-fs-\(UUID().uuidString)"
        zone = try FileSystemZone(name: "z", root: root)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: root) }

    func store(_ size: Int, in bucket: String) throws -> String {
        let w = try zone.beginWrite(backendBucket: bucket, length: Int64(size))
        try [UInt8](repeating: 5, count: size).withUnsafeBytes { try w.write($0) }
        return try w.commit()
    }

    func testBlobsArePagedInIdOrderWithTheirSizes() throws {
        try zone.createBucket("s3gw-b")
        var sizes: [String: Int64] = [:]
        for i in 0..<40 { sizes[try store(i, in: "s3gw-b")] = Int64(i) }
        _ = try store(3, in: "s3gw-other")  // another bucket's blob is not listed
        let before = Date().timeIntervalSince1970 - 60

        var listed: [StoredBlob] = []
        var after = ""
        while true {
            let page = try zone.listBlobs(backendBucket: "s3gw-b", after: after, limit: 7)
            XCTAssertLessThanOrEqual(page.count, 7)
            if page.isEmpty { break }
            listed += page
            after = page.last!.id
        }
        XCTAssertEqual(listed.map(\.id), sizes.keys.sorted())
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: listed.map { ($0.id, $0.size) }), sizes)
        XCTAssertTrue(listed.allSatisfy { $0.etag == nil && ($0.lastModified ?? 0) > before })

        // `after` need not be an id the zone holds.
        let middle = sizes.keys.sorted()[20]
        let fromMiddle = try zone.listBlobs(backendBucket: "s3gw-b", after: String(middle.dropLast()), limit: 1000)
        XCTAssertEqual(fromMiddle.map(\.id), Array(sizes.keys.sorted()[20...]))
        XCTAssertEqual(try zone.listBlobs(backendBucket: "s3gw-b", after: "", limit: 0), [])
    }

    func testMissingBucketIsEmptyAndStrayFilesAreNotBlobs() throws {
        XCTAssertEqual(try zone.listBlobs(backendBucket: "s3gw-nothing", after: "", limit: 10), [])
        let id = try store(4, in: "s3gw-b")
        // A file that is not where the layout puts an id, and an upload in flight in tmp/.
        FileManager.default.createFile(atPath: root + "/buckets/s3gw-b/README", contents: Data("x".utf8))
        FileManager.default.createFile(atPath: root + "/buckets/s3gw-b/\(id.prefix(2))/zz-not-hex", contents: Data())
        let pending = try zone.beginWrite(backendBucket: "s3gw-b", length: 1)
        defer { pending.abort() }
        XCTAssertEqual(try zone.listBlobs(backendBucket: "s3gw-b", after: "", limit: 10).map(\.id), [id])
    }

    func testBlobInfoIsTheStatOrNil() throws {
        let id = try store(123, in: "s3gw-b")
        let info = try XCTUnwrap(try zone.blobInfo(backendBucket: "s3gw-b", blob: id))
        XCTAssertEqual(info.id, id)
        XCTAssertEqual(info.size, 123)
        XCTAssertNil(info.etag)
        try zone.deleteBlob(backendBucket: "s3gw-b", blob: id)
        XCTAssertNil(try zone.blobInfo(backendBucket: "s3gw-b", blob: id))
        XCTAssertNil(try zone.blobInfo(backendBucket: "s3gw-none", blob: id))
    }

    func testBackendBucketsAreTheDirectoriesUnderBuckets() throws {
        XCTAssertEqual(try zone.listBackendBuckets(), [])
        try zone.createBucket("s3gw-b2")
        try zone.createBucket("s3gw-a1")
        FileManager.default.createFile(atPath: root + "/buckets/stray-file", contents: Data())
        XCTAssertEqual(try zone.listBackendBuckets(), ["s3gw-a1", "s3gw-b2"])
        try zone.deleteBucket("s3gw-b2")
        XCTAssertEqual(try zone.listBackendBuckets(), ["s3gw-a1"])
    }

    /// A bucket that cannot be read as a directory is an error, never an empty bucket an audit
    /// would believe. (Running as root, no permission bits can make one unreadable; a file where
    /// the directory belongs can.)
    func testUnreadableBucketIsAnErrorNotEmpty() throws {
        FileManager.default.createFile(atPath: root + "/buckets/s3gw-f", contents: Data("x".utf8))
        do {
            _ = try zone.listBlobs(backendBucket: "s3gw-f", after: "", limit: 1)
            XCTFail("a bucket that is not a directory listed as empty")
        } catch {
            guard case .internalFailure(let text) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(text.contains("opendir"), text)
        }
    }
}
