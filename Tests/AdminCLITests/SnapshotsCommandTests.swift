import Foundation
import XCTest

@testable import Gateway
@testable import s3gw

/// `s3gw snapshots …` reaches every snapshot route of the web API, signs `/api/` paths as the
/// gateway verifies them, reads the web API's error shape, and streams a download to a file.
final class SnapshotsCommandTests: XCTestCase {
    final class Recorder: AdminTransport, @unchecked Sendable {
        private let lock = NSLock()
        private var recorded: [AdminCall] = []
        var calls: [AdminCall] { lock.withLock { recorded } }
        var answer: (Int, String) = (200, #"{"snapshots": []}"#)

        func send(_ call: AdminCall) throws(AdminFailure) -> AdminReply {
            lock.withLock { recorded.append(call) }
            return AdminReply(status: answer.0, body: Array(answer.1.utf8))
        }
    }

    func run(_ argv: [String], _ recorder: Recorder) throws {
        try AdminOptions.$testTransport.withValue(recorder) {
            var command = try S3GW.parseAsRoot(argv)
            try command.run()
        }
    }

    func testEverySnapshotRouteHasACommand() throws {
        let recorder = Recorder()
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("snap-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: out) }
        for argv in [
            ["snapshots", "list"], ["snapshots", "show", "abc"], ["snapshots", "download", "abc", "-o", out.path],
            ["snapshots", "delete", "abc", "--tenant", "acme"],
        ] {
            try? run(argv, recorder)
        }
        let calls = recorder.calls
        XCTAssertEqual(calls.map(\.api), [.web, .web, .web, .web])
        func route(of call: AdminCall) -> String? {
            WebAPI.table.route(call.method, call.path).map { $0.method + " " + $0.pattern.joined(separator: "/") }
        }
        XCTAssertEqual(
            calls.compactMap(route),
            [
                "GET discovery/snapshots", "GET discovery/snapshots/{id}", "GET discovery/snapshots/{id}/download",
                "DELETE discovery/snapshots/{id}",
            ])
        XCTAssertEqual(calls[2].query, ["format": "json"])
        XCTAssertEqual(calls[3].query, ["tenant": "acme"])
        XCTAssertEqual(try String(contentsOf: out, encoding: .utf8), #"{"snapshots": []}"#, "the body went to the file")
    }

    func testAFailedDownloadLeavesNoFileAndReportsTheAPIsError() throws {
        let recorder = Recorder()
        recorder.answer = (404, #"{"error": {"code": "NotFound", "message": "snapshot abc does not exist"}}"#)
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("snap-\(UUID().uuidString).json")
        XCTAssertThrowsError(try run(["snapshots", "download", "abc", "-o", out.path], recorder))
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path + ".partial"))
        let failure = AdminClient.failure(
            AdminReply(status: 404, body: Array(recorder.answer.1.utf8)), JSONValue.parse(Array(recorder.answer.1.utf8))
        )
        XCTAssertEqual(failure.code, "NotFound")
        XCTAssertEqual(failure.message, "snapshot abc does not exist")
    }

    func testRemoteCallsGoUnderApi() throws {
        let t = try RemoteAdminTransport(
            endpoint: "https://gw.example.test", credentials: .init(accessKey: "AKIDADMIN", secretKey: "admin-secret"),
            region: "us-east-1", caBundle: nil, verifyTLS: true)
        let (url, _) = t.signed(
            AdminCall("GET", ["discovery", "snapshots", "abc", "download"], query: ["format": "json"], api: .web),
            now: 1_700_000_000)
        XCTAssertEqual(url, "https://gw.example.test/api/discovery/snapshots/abc/download?format=json")
    }
}
