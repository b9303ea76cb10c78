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
}
