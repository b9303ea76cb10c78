import FileSystemBackend
import Foundation
import GatewayCore
import XCTest

final class FileSystemZoneTests: XCTestCase {
    func testAFailedCommitLeavesNoTemporaryFile() throws {
        let root = NSTemporaryDirectory() + "s3gw-fs-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let zone = try FileSystemZone(name: "z", root: root)
        // A plain file where the bucket's directory belongs: the commit's mkdir must fail.
        FileManager.default.createFile(atPath: root + "/buckets/broken", contents: Data())
        var writer: (any BlobWriter)? = try zone.beginWrite(backendBucket: "broken", length: 3)
        try [UInt8]([1, 2, 3]).withUnsafeBytes { try writer!.write($0) }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root + "/tmp").count, 1)
        XCTAssertThrowsError(try writer!.commit())
        writer = nil  // what every caller does with a writer whose commit failed
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root + "/tmp"), [])
    }

    func testCommittedBlobReadsBackAndAbortRemovesTheTemporary() throws {
        let root = NSTemporaryDirectory() + "s3gw-fs-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let zone = try FileSystemZone(name: "z", root: root)
        try zone.createBucket("b")
        let w = try zone.beginWrite(backendBucket: "b", length: nil)
        try [UInt8]([9, 8, 7]).withUnsafeBytes { try w.write($0) }
        let blob = try w.commit()
        let reader = try zone.open(backendBucket: "b", blob: blob, offset: 1, length: nil)
        let sink = MemorySink()
        var buf = [UInt8](repeating: 0, count: 8)
        let n = try buf.withUnsafeMutableBytes { try reader.read(into: $0) }
        try buf[0..<n].withUnsafeBytes { try sink.write($0) }
        XCTAssertEqual(sink.bytes, [8, 7])
        let aborted = try zone.beginWrite(backendBucket: "b", length: nil)
        aborted.abort()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root + "/tmp"), [])
    }

    /// A commit renames into the fan-out directory first and creates it only when missing: more
    /// blobs than there are fan-out directories (both paths taken), then one whose directory
    /// was removed meanwhile.
    func testCommitsIntoExistingAndMissingFanOutDirectories() throws {
        let root = NSTemporaryDirectory() + "s3gw-fs-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let zone = try FileSystemZone(name: "z", root: root)
        try zone.createBucket("b")
        func put(_ byte: UInt8) throws -> String {
            let w = try zone.beginWrite(backendBucket: "b", length: 1)
            try [byte].withUnsafeBytes { try w.write($0) }
            return try w.commit()
        }
        func read(_ blob: String) throws -> [UInt8] {
            let reader = try zone.open(backendBucket: "b", blob: blob, offset: 0, length: nil)
            var buf = [UInt8](repeating: 0, count: 4)
            let n = try buf.withUnsafeMutableBytes { try reader.read(into: $0) }
            return Array(buf[0..<n])
        }
        let blobs = try (0..<300).map { try put(UInt8($0 % 256)) }
        for (i, blob) in blobs.enumerated() { XCTAssertEqual(try read(blob), [UInt8(i % 256)]) }
        let fanOut = try FileManager.default.contentsOfDirectory(atPath: root + "/buckets/b")
        XCTAssertLessThan(fanOut.count, 300, "blobs share fan-out directories")
        for dir in fanOut { try FileManager.default.removeItem(atPath: root + "/buckets/b/" + dir) }
        let again = try put(42)
        XCTAssertEqual(try read(again), [42])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root + "/tmp"), [])
    }

    /// Past a few write-back windows (write-back started every 8 MiB while writing): the blob reads
    /// back byte for byte, from any thread that wrote it, and an aborted one leaves no temp file.
    func testALargeBlobWrittenWithEarlyWriteBackReadsBackWhole() throws {
        let root = NSTemporaryDirectory() + "s3gw-fs-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let zone = try FileSystemZone(name: "z", root: root)
        try zone.createBucket("b")
        let w = try zone.beginWrite(backendBucket: "b", length: nil)
        XCTAssert(w.writesFromAnyThread)
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        for i in 0..<21 {
            for j in stride(from: 0, to: chunk.count, by: 4096) { chunk[j] = UInt8(truncatingIfNeeded: i &+ j >> 12) }
            try chunk.withUnsafeBytes { try w.write($0) }
        }
        let blob = try w.commit()
        let reader = try zone.open(backendBucket: "b", blob: blob, offset: 0, length: nil)
        XCTAssertEqual(reader.size, 21 << 20)
        var got = [UInt8](repeating: 0, count: 1 << 20)
        for i in 0..<21 {
            var n = 0
            while n < got.count {
                let r = try got.withUnsafeMutableBytes {
                    try reader.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[n...]))
                }
                XCTAssertGreaterThan(r, 0)
                if r == 0 { return }
                n += r
            }
            XCTAssertEqual(got[4096 * 7], UInt8(truncatingIfNeeded: i &+ 7), "MiB \(i)")
            XCTAssertEqual(got[1], 0)
        }
        let aborted = try zone.beginWrite(backendBucket: "b", length: nil)
        for _ in 0..<10 { try chunk.withUnsafeBytes { try aborted.write($0) } }
        aborted.abort()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root + "/tmp"), [])
    }
}

final class FileSystemZoneEdgeTests: XCTestCase {
    func testDeletesAreIdempotentAndForeignBlobIdsAreRefused() throws {
        let root = NSTemporaryDirectory() + "s3gw-fs-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let zone = try FileSystemZone(name: "z", root: root)
        try zone.createBucket("b")
        let w = try zone.beginWrite(backendBucket: "b", length: nil)
        try [UInt8]([1]).withUnsafeBytes { try w.write($0) }
        let blob = try w.commit()
        try zone.deleteBlob(backendBucket: "b", blob: blob)
        XCTAssertNoThrow(try zone.deleteBlob(backendBucket: "b", blob: blob), "a second delete is not an error")
        for hostile in ["../../etc/passwd", "ab/../../x", "", "zz"] {
            XCTAssertThrowsError(try zone.open(backendBucket: "b", blob: hostile, offset: 0, length: nil), hostile)
            XCTAssertThrowsError(try zone.deleteBlob(backendBucket: "b", blob: hostile), hostile)
        }
        // A bucket with a blob left behind (an upload's part that went with the bucket) goes whole.
        let left = try zone.beginWrite(backendBucket: "b", length: nil)
        _ = try left.commit()
        try zone.deleteBucket("b")
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/buckets/b"))
        XCTAssertNoThrow(try zone.deleteBucket("b"), "deleting a bucket that is gone is not an error")
    }

    func testTemporariesOfADeadProcessAreRemovedAndOthersKept() throws {
        let root = NSTemporaryDirectory() + "s3gw-fs-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let zone = try FileSystemZone(name: "z", root: root)
        FileManager.default.createFile(atPath: root + "/tmp/999999-abc", contents: Data([1]))
        let mine = try zone.beginWrite(backendBucket: "b", length: nil)
        zone.removeTemporaries(ofProcess: 999_999)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root + "/tmp").count, 1)
        mine.abort()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root + "/tmp"), [])
    }

    /// Two hosts share a zone's tmp/ (docs/HOSTS.md) and their pids may be the same: a host
    /// removes only the files of its own processes, never one another host is writing.
    func testAHostRemovesOnlyItsOwnTemporaries() throws {
        let root = NSTemporaryDirectory() + "s3gw-fs-\(UUID().uuidString)"
        defer {
            FileSystemZone.setHost("")
            try? FileManager.default.removeItem(atPath: root)
        }
        let zone = try FileSystemZone(name: "z", root: root)
        FileSystemZone.setHost("host-2")
        let theirs = try zone.beginWrite(backendBucket: "b", length: nil)
        FileSystemZone.setHost("host-1")
        let mine = try zone.beginWrite(backendBucket: "b", length: nil)
        FileManager.default.createFile(atPath: root + "/tmp/4242-old", contents: Data([1]))  // before host tags
        zone.removeTemporaries(ofProcess: getpid())
        let left = try FileManager.default.contentsOfDirectory(atPath: root + "/tmp").sorted()
        XCTAssertEqual(left.count, 2, "\(left)")
        XCTAssertEqual(left.first, "4242-old")
        XCTAssertTrue(left.last?.hasPrefix("host-2@\(getpid())-") ?? false, "\(left)")
        mine.abort()
        zone.removeTemporaries(ofProcess: nil)  // host 1 starts again
        // An untagged file may be an upload in flight on a host not upgraded yet: kept while fresh.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root + "/tmp").count, 2)
        zone.removeTemporaries(ofProcess: nil, now: Double(time(nil)) + FileSystemZone.untaggedAge + 60)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root + "/tmp").count, 1)
        _ = try theirs.commit()  // host 2's write was never disturbed
    }
}
