import Foundation
import XCTest

@testable import Gateway
@testable import s3gw

/// Every route of the router's admin API has a `s3gw routing` command that reaches it (as
/// AdminCommandTests holds the gateway's admin API to its commands).
final class RoutingCommandTests: XCTestCase {
    static let commandLines: [[String]] = [
        ["routing", "list", "region"], ["routing", "show", "region", "fi"],
        ["routing", "set", "region", "fi", "https://fi.example"], ["routing", "delete", "region", "fi"],
        ["routing", "list", "tenant"], ["routing", "show", "tenant", "acme"],
        ["routing", "set", "tenant", "acme", "fi"], ["routing", "delete", "tenant", "acme"],
        ["routing", "list", "access-key", "--tenant", "acme"], ["routing", "set", "access-key", "AKID", "acme"],
        ["routing", "delete", "access-key", "AKID"],
        ["routing", "list", "bucket"], ["routing", "set", "bucket", "photos", "acme", "--replace"],
        ["routing", "delete", "bucket", "photos"],
    ]

    func testEveryRouteHasACommandThatReachesIt() throws {
        let recorder = AdminCommandTests.Recorder()
        try AdminOptions.$testTransport.withValue(recorder) {
            for argv in Self.commandLines {
                var command = try S3GW.parseAsRoot(argv)
                try? command.run()
            }
        }
        func route(of call: AdminCall) -> String? {
            RouterAdminAPI.routes.first { $0.method == call.method && $0.match(call.path) != nil }.map {
                $0.method + " " + $0.pattern.joined(separator: "/")
            }
        }
        let calls = recorder.calls
        XCTAssertEqual(calls.filter { route(of: $0) == nil }.map { "\($0.method) \($0.path)" }, [])
        let all = Set(RouterAdminAPI.routes.map { $0.method + " " + $0.pattern.joined(separator: "/") })
        XCTAssertEqual(all.subtracting(calls.compactMap(route)).sorted(), [], "routes no command reaches")
        // `set` sends the field the route reads.
        let put = calls.first { $0.method == "PUT" && $0.path == ["routing", "tenants", "acme"] }
        XCTAssertEqual(put.map { String(decoding: $0.body, as: UTF8.self) }, #"{"region":"fi"}"#)
        // `--replace` asks for it; without it the router refuses a name of another tenant.
        let replace = calls.first { $0.method == "PUT" && $0.path == ["routing", "buckets", "photos"] }
        XCTAssertEqual(replace?.query, ["replace": "true"])
    }
}

/// `s3gw routing sync`: what the gateway has is routed, what the router has beyond it removed.
final class RoutingSyncCommandTests: XCTestCase {
    /// Answers as a gateway with tenant acme (user app, key AKIDNEW, bucket photos) and a router
    /// that routes AKIDOLD for acme, an explicit bare `photos` and a stale `acme:gone`; a PUT of a
    /// name in `conflicts` answers 409, as the router does for a name of another tenant.
    final class Both: AdminTransport, @unchecked Sendable {
        let conflicts: Set<String>
        init(conflicts: Set<String> = []) { self.conflicts = conflicts }
        private let lock = NSLock()
        private var recorded: [AdminCall] = []
        var calls: [AdminCall] { lock.withLock { recorded } }

        func send(_ call: AdminCall) throws(AdminFailure) -> AdminReply {
            lock.withLock { recorded.append(call) }
            let answers: [[String]: String] = [
                ["tenants"]: #"{"items": [{"id": "default"}, {"id": "acme"}]}"#,
                ["buckets"]: #"{"items": [{"tenant": "acme", "name": "photos"}, {"tenant": "other", "name": "x"}]}"#,
                ["tenants", "acme", "users"]: #"{"items": [{"name": "app"}]}"#,
                ["tenants", "acme", "users", "app", "credentials"]: #"{"items": [{"access_key": "AKIDNEW"}]}"#,
                ["routing", "access-keys"]: #"{"items": [{"name": "AKIDOLD", "tenant": "acme"}]}"#,
                ["routing", "buckets"]:
                    #"{"items": [{"name": "photos", "tenant": "acme"}, {"name": "acme:gone", "tenant": "acme"}]}"#,
            ]
            if call.method == "PUT", let name = call.path.last, conflicts.contains(name) {
                return AdminReply(status: 409, body: Array(#"{"code": "Conflict", "message": "taken"}"#.utf8))
            }
            let body = call.method == "GET" ? answers[call.path] ?? #"{"items": []}"# : "{}"
            return AdminReply(status: 200, body: Array(body.utf8))
        }
    }

    func testRoutesWhatTheGatewayHasAndRemovesTheRest() throws {
        let both = Both()
        try AdminOptions.$testTransport.withValue(both) {
            var command = try S3GW.parseAsRoot(["routing", "sync", "fi", "--router", "https://router.example"])
            try command.run()
        }
        let changes = both.calls.filter { $0.method != "GET" }.map {
            "\($0.method) \($0.path.joined(separator: "/")) \(String(decoding: $0.body, as: UTF8.self))"
        }
        XCTAssertEqual(
            changes,
            [
                #"PUT routing/tenants/acme {"region":"fi"}"#, #"PUT routing/access-keys/AKIDNEW {"tenant":"acme"}"#,
                "DELETE routing/access-keys/AKIDOLD ", #"PUT routing/buckets/acme:photos {"tenant":"acme"}"#,
                "DELETE routing/buckets/acme:gone ",
            ])
    }

    /// A name routed to another tenant is reported, not overwritten; the rest is still routed.
    func testAConflictIsReportedNotOverwritten() throws {
        let both = Both(conflicts: ["AKIDNEW"])
        XCTAssertThrowsError(
            try AdminOptions.$testTransport.withValue(both) {
                var command = try S3GW.parseAsRoot(["routing", "sync", "fi", "--router", "https://router.example"])
                try command.run()
            })
        let puts = both.calls.filter { $0.method == "PUT" }.map { $0.path.joined(separator: "/") }
        XCTAssertEqual(puts, ["routing/tenants/acme", "routing/access-keys/AKIDNEW", "routing/buckets/acme:photos"])
        XCTAssertFalse(both.calls.contains { $0.query["replace"] != nil })
    }
}
