import FileSystemBackend
import Foundation
import GatewayCore
import XCTest

/// Objects under names the gateway chooses (metadata backups) in a filesystem zone.
final class FileSystemZoneNamedTests: XCTestCase {
    var root = ""

    override func setUp() { root = NSTemporaryDirectory() + "named-\(UUID().uuidString)" }
    override func tearDown() { try? FileManager.default.removeItem(atPath: root) }

    func put(_ zone: FileSystemZone, _ name: String, _ text: String) throws {
        let bytes = Array(text.utf8)
        XCTAssertEqual(
            try zone.beginNamedWrite(backendBucket: "b", name: name, length: Int64(bytes.count)).commit(bytes: bytes),
            name)
    }

    func testWritesListsReadsAndDeletesByName() throws {
        let zone = try FileSystemZone(name: "z", root: root)
        try put(zone, "databases/x/wal/g1/0002.wal", "two")
        try put(zone, "databases/x/wal/g1/0001.wal", "one")
        try put(zone, "databases/x/snapshots/g1/manifest.json", "{}")
        try put(zone, "databases/y/wal/g1/0001.wal", "other")
        // A blob beside them is not a named object.
        let blob = try zone.beginWrite(backendBucket: "b", length: 1).commit(bytes: [1])
        XCTAssertEqual(
            try zone.listAllNamed(backendBucket: "b", prefix: "databases/x/wal/").map(\.id),
            ["databases/x/wal/g1/0001.wal", "databases/x/wal/g1/0002.wal"])
        XCTAssertEqual(try zone.listAllNamed(backendBucket: "b", prefix: "databases/").count, 4)
        XCTAssertEqual(
            try zone.listNamed(
                backendBucket: "b", prefix: "databases/x/", after: "databases/x/snapshots/g1/manifest.json",
                limit: 10
            ).map(\.id),
            ["databases/x/wal/g1/0001.wal", "databases/x/wal/g1/0002.wal"])
        XCTAssertEqual(try zone.listAllNamed(backendBucket: "b", prefix: "").count, 4)
        XCTAssertEqual(try zone.listBlobs(backendBucket: "b", after: "", limit: 10).map(\.id), [blob])
        let reader = try zone.openNamed(backendBucket: "b", name: "databases/x/wal/g1/0002.wal")
        XCTAssertEqual(try reader.readAll(limit: 100), Array("two".utf8))
        try zone.deleteNamed(backendBucket: "b", name: "databases/y/wal/g1/0001.wal")
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/buckets/b/databases/y"))
        XCTAssertEqual(try zone.listAllNamed(backendBucket: "b", prefix: "databases/y/").count, 0)
        XCTAssertEqual(try zone.listAllNamed(backendBucket: "missing", prefix: "databases/").count, 0)
    }

    func testRefusesNamesThatAreNotPlainPaths() throws {
        let zone = try FileSystemZone(name: "z", root: root)
        for name in ["../escape", "a//b", "/abs", "a/./b", "ab/x", "sp ace", ""] {
            XCTAssertThrowsError(try zone.beginNamedWrite(backendBucket: "b", name: name, length: nil), name)
        }
    }
}
