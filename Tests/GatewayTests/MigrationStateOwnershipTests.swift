import Foundation
import GatewayCore
import Logging
import XCTest

@testable import Gateway

#if canImport(Glibc)
    import Glibc
#endif

/// `s3gw migrate plan|run` run as root write under a state directory that belongs to the
/// workers' user: every directory, plan and socket they make goes to that user, or the workers
/// could not enter them (API plans failing, reads through a run finding nothing).
final class MigrationStateOwnershipTests: XCTestCase {
    var stateDir: String!
    /// The workers' user: `nobody`.
    let uid: uid_t = 65534
    let gid: gid_t = 65534

    override func setUpWithError() throws {
        try XCTSkipUnless(geteuid() == 0, "ownership is given away only by root")
        stateDir = "/tmp/own-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: stateDir, withIntermediateDirectories: true)
        XCTAssertEqual(chown(stateDir, uid, gid), 0)
    }

    override func tearDownWithError() throws {
        if let stateDir { try? FileManager.default.removeItem(atPath: stateDir) }
    }

    func owner(_ path: String, file: StaticString = #filePath, line: UInt = #line) -> (uid_t, gid_t, mode_t)? {
        var st = stat()
        guard lstat(path, &st) == 0 else {
            XCTFail("\(path) does not exist", file: file, line: line)
            return nil
        }
        return (st.st_uid, st.st_gid, st.st_mode & 0o777)
    }

    func assertOwned(_ path: String, mode: mode_t, file: StaticString = #filePath, line: UInt = #line) {
        guard let (u, g, m) = owner(path, file: file, line: line) else { return }
        XCTAssertEqual(u, uid, "\(path) uid", file: file, line: line)
        XCTAssertEqual(g, gid, "\(path) gid", file: file, line: line)
        XCTAssertEqual(m, mode, "\(path) mode", file: file, line: line)
    }

    func testAPlanSavedByRootBelongsToTheStateDirectorysOwner() throws {
        let plan = try MigrationPlanFile.decode(
            Data(contentsOf: SnapshotTests.fixtures.appendingPathComponent("migration-plan-v1.json")))
        // A plans/ an earlier root run left root's is given back too.
        try FileManager.default.createDirectory(
            atPath: stateDir + "/plans", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let path = try MigrationFiles.save(plan, stateDir: stateDir)
        XCTAssertEqual(path, "\(stateDir!)/plans/\(plan.plan.tenant)/\(plan.plan.id).json")
        assertOwned(stateDir + "/plans", mode: 0o700)
        assertOwned(stateDir + "/plans/\(plan.plan.tenant)", mode: 0o700)
        assertOwned(path, mode: 0o600)
        // Saved again (replaced through a renamed file): still theirs.
        _ = try MigrationFiles.save(plan, stateDir: stateDir)
        assertOwned(path, mode: 0o600)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".partial"))
    }

    func testAFileWrittenOutsideTheStateDirectoryStaysTheCallers() throws {
        let out = stateDir + "-out/plan.json"
        defer { try? FileManager.default.removeItem(atPath: stateDir + "-out") }
        try MigrationFiles.write(Data("{}".utf8), to: out)
        XCTAssertEqual(owner(out)?.0, 0)
    }

    func testTheReadThroughSocketAndItsDirectoryBelongToTheStateDirectorysOwner() throws {
        let server = try ReadThroughServer(stateDir: stateDir, runId: "owned-run", logger: Logger(label: "t")) { _, _ in
            .copied
        }
        defer { server.stop() }
        assertOwned(stateDir + "/migration", mode: 0o700)
        assertOwned(server.path, mode: 0o600)
    }

    func testSomethingThatIsNotADirectoryIsNotFollowed() throws {
        let elsewhere = stateDir + "-elsewhere"
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: elsewhere) }
        XCTAssertEqual(symlink(elsewhere, stateDir + "/plans"), 0)
        XCTAssertThrowsError(try StateDirectory.makeDirectory(stateDir + "/plans/default", in: stateDir))
        XCTAssertEqual(owner(elsewhere)?.0, 0, "what the link points to is left alone")
    }
}
