import Foundation
import GatewayCore
import XCTest

@testable import FileSystemBackend

/// `makeDirectories` creates the deepest missing directory first and walks up only when its
/// parent is missing too.
final class DirectoryCreationTests: XCTestCase {
    func testCreatesEveryMissingLevelAndAcceptsAnExistingPath() throws {
        let root = NSTemporaryDirectory() + "s3gw-mkdir-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        try makeDirectories(root + "/a/b/c")
        var isDir: ObjCBool = false
        XCTAssertTrue(FileManager.default.fileExists(atPath: root + "/a/b/c", isDirectory: &isDir))
        XCTAssertTrue(isDir.boolValue)
        try makeDirectories(root + "/a/b/c")  // exists: fine
        try makeDirectories(root + "/a/b/d")  // only the last level is missing
        XCTAssertTrue(FileManager.default.fileExists(atPath: root + "/a/b/d"))
    }

    func testAFileInThePathFailsWithTheSystemError() throws {
        let root = NSTemporaryDirectory() + "s3gw-mkdir-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        try makeDirectories(root)
        XCTAssertTrue(FileManager.default.createFile(atPath: root + "/file", contents: Data()))
        XCTAssertThrowsError(try makeDirectories(root + "/file/x/y")) { error in
            XCTAssertTrue("\(error)".contains("mkdir"), "\(error)")
        }
    }

    func testParentDirectory() {
        let table: [(String, String)] = [("/x", "/"), ("x", "."), ("/a/b", "/a"), ("a/b/c", "a/b"), ("./a", ".")]
        for (path, parent) in table { XCTAssertEqual(parentDirectory(path), parent, path) }
    }
}
