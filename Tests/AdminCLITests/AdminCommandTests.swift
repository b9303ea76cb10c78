import Foundation
import XCTest

@testable import Gateway
@testable import s3gw

/// Every admin API route has a command that reaches it: the command lines below run against a
/// transport that records their calls, and the calls must match every route of the table, so a
/// route added without its command (or a command that stops calling its route) fails here.
final class AdminCommandTests: XCTestCase {
    /// Records each call and answers it with an empty list (one zone for the catalog, so that
    /// `zones --probe` has something to probe).
    final class Recorder: AdminTransport, @unchecked Sendable {
        private let lock = NSLock()
        private var recorded: [AdminCall] = []
        var calls: [AdminCall] { lock.withLock { recorded } }

        func send(_ call: AdminCall) throws(AdminFailure) -> AdminReply {
            lock.withLock { recorded.append(call) }
            let answer = call.path == ["zones"] ? #"{"items": [{"name": "z1"}]}"# : #"{"items": []}"#
            return AdminReply(status: 200, body: Array(answer.utf8))
        }
    }

    static let commandLines: [[String]] = [
        ["tenants", "list"], ["tenants", "create", "acme"], ["tenants", "show", "acme"], ["tenants", "delete", "acme"],
        ["users", "list", "acme"], ["users", "create", "acme", "alice"], ["users", "show", "acme", "alice"],
        ["users", "set-permissions", "acme", "alice", "{}"], ["users", "delete", "acme", "alice"],
        ["credentials", "list", "acme", "alice"], ["credentials", "create", "acme", "alice"],
        ["credentials", "show", "acme", "alice", "K"], ["credentials", "deactivate", "acme", "alice", "K"],
        ["credentials", "delete", "acme", "alice", "K"], ["credentials", "rotate", "acme", "alice", "K"],
        ["kms-keys", "list", "acme"], ["kms-keys", "create", "acme", "--alias", "app"],
        ["kms-keys", "show", "acme", "k1"],
        ["kms-keys", "update", "acme", "k1", "--state", "Disabled"], ["kms-keys", "rotate", "acme", "k1"],
        ["buckets", "list"], ["buckets", "show", "photos"], ["buckets", "set", "acme", "photos", "--owner", "bob"],
        ["zones"], ["zones", "z1"], ["zones", "--probe"], ["zones", "ls", "z1"], ["zones", "ls", "z1", "s3gw-x"],
        ["zones", "sweep-uploads"], ["replication", "status"], ["replication", "jobs", "--dead"],
        ["replication", "retry", "--dead"], ["replication", "cancel", "7"], ["failover", "promote", "photos", "z1"],
        ["placement", "resolve", "--location-constraint", "se"], ["repair", "photos"], ["audit", "residency"],
        ["audit", "show"], ["audit", "digests"], ["agents"], ["workers"], ["metrics"], ["metrics", "history"],
        ["oplog", "--errors", "--since", "15m"],
    ]

    func testEveryRouteHasACommandThatReachesIt() throws {
        let recorder = Recorder()
        try AdminOptions.$testTransport.withValue(recorder) {
            for argv in Self.commandLines {
                var command = try S3GW.parseAsRoot(argv)
                // Exit statuses say what the empty answers mean; only the calls matter here.
                try? command.run()
            }
            // The import reads its file before calling.
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("providers-\(UUID()).csv")
            try "name,country,region,endpoint,access_key,secret_key\nfi-1,fi,fi-hel,https://fi.example,a,b\n"
                .write(to: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: file) }
            var command = try S3GW.parseAsRoot(["providers", "import", file.path])
            try? command.run()
        }
        func route(of call: AdminCall) -> String? {
            AdminAPI.routes.first { $0.method == call.method && $0.match(call.path) != nil }.map {
                $0.method + " " + $0.pattern.joined(separator: "/")
            }
        }
        let calls = recorder.calls
        let unmatched = calls.filter { route(of: $0) == nil }.map { "\($0.method) \($0.path)" }
        XCTAssertEqual(unmatched, [], "calls no route answers")
        let all = Set(AdminAPI.routes.map { $0.method + " " + $0.pattern.joined(separator: "/") })
        XCTAssertEqual(all.subtracting(calls.compactMap(route)).sorted(), [], "routes no command reaches")
    }
}
