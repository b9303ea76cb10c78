import Foundation
import GatewayCore
import GatewayTesting
import Logging
import SigV4
import Synchronization
import XCTest

@testable import Gateway

/// Clients use the gateway while a run lasts (read-through exists for that): what they write or
/// delete there stands. The run writes conditionally — `If-None-Match: *` where nothing is, `If-Match`
/// its own earlier copy — and leaves anything else as it is, with the reason in the report.
extension MigrationRunnerTests {
    func createBucket(_ name: String, constraint: String = "fi") {
        let body = Array(
            "<CreateBucketConfiguration><LocationConstraint>\(constraint)</LocationConstraint></CreateBucketConfiguration>"
                .utf8)
        XCTAssertEqual(gw.send("PUT", "/\(name)", body: body).status, 200)
    }

    func reasons(_ s: MigrationRunStatus) -> [String: String] {
        Dictionary(uniqueKeysWithValues: s.skipped.map { ($0.key, $0.reason) })
    }

    func testAClientsWriteBeforeTheListingReachesTheKeyIsNotReplaced() throws {
        source.addBucket("docs")
        source.put("docs", "a", Self.bytes(100, seed: 1))
        source.put("docs", "b", Self.bytes(100, seed: 2))
        let p = try plan("fi")
        // A client switched to the gateway early and wrote "a" there.
        createBucket("docs")
        XCTAssertEqual(gw.send("PUT", "/docs/a", body: Array("the client's".utf8)).status, 200)
        let report = runner(p).run()
        XCTAssertEqual(report.state, .done, report.text)
        XCTAssertEqual(report.objectsCopied, 1, report.text)
        XCTAssertEqual(reasons(report), ["a": MigrationRunner.changedInGateway])
        XCTAssertEqual(get("docs", "a").body, Array("the client's".utf8))
        XCTAssertEqual(get("docs", "b").body, Self.bytes(100, seed: 2))
        XCTAssertEqual(source.reads, 1, "the client's key is not even read at the source")
    }

    func testARerunLeavesDeletedAndRewrittenCopiesAloneAndUpdatesItsOwn() throws {
        source.addBucket("docs")
        for k in ["deleted", "rewritten", "updated", "same"] { source.put("docs", k, Self.bytes(100, seed: k.count)) }
        let p = try plan("fi")
        XCTAssertEqual(runner(p).run().objectsCopied, 4)
        // Clients delete one copy and replace another; the source changes three of them.
        XCTAssertEqual(gw.send("DELETE", "/docs/deleted").status, 204)
        XCTAssertEqual(gw.send("PUT", "/docs/rewritten", body: Array("newer".utf8)).status, 200)
        for k in ["deleted", "rewritten", "updated"] { source.put("docs", k, Self.bytes(200, seed: 50 + k.count)) }
        let again = runner(p).run()
        XCTAssertEqual(again.state, .done, again.text)
        XCTAssertEqual(
            reasons(again),
            ["deleted": MigrationRunner.deletedInGateway, "rewritten": MigrationRunner.changedInGateway])
        XCTAssertEqual(again.objectsCopied, 1, again.text)
        XCTAssertEqual(again.objectsPresent, 1, again.text)
        XCTAssertEqual(get("docs", "deleted").status, 404, "a deleted copy is not brought back")
        XCTAssertEqual(get("docs", "rewritten").body, Array("newer".utf8))
        XCTAssertEqual(get("docs", "updated").body, Self.bytes(200, seed: 50 + 7), "the run's own copy is updated")
        XCTAssertEqual(get("docs", "same").body, Self.bytes(100, seed: 4))
        XCTAssertEqual(source.reads, 5, "only the changed copy of the run's own is read again")
        // Read-through does not bring the deleted key back either.
        let b = try XCTUnwrap(try gw.metadata.bucket(named: "docs"))
        XCTAssertEqual(runner(p).readThrough(bucket: b.name, key: "deleted"), .absent)
        XCTAssertEqual(get("docs", "deleted").status, 404)
    }

    func testAClientsWriteWhileTheCopyStreamsWinsAtTheCommit() throws {
        source.addBucket("docs")
        source.put("docs", "k", Self.bytes(3000, seed: 8))
        let p = try plan("fi")
        // The client's PUT lands after the write path checked If-None-Match, before it commits.
        let client = GatewayWrites(ctx: gw.context, principal: principal, logger: Logger(label: "client"))
        let racing = InterleavedSource(source) {
            let bytes = Array("the client's".utf8)
            do {
                _ = try client.putObject(
                    bucket: "docs", key: "k", size: Int64(bytes.count), headers: [], body: MemorySource(bytes))
            } catch {
                XCTFail("the client's PUT: \(error)")
            }
        }
        let report = runner(p, source: racing).run()
        XCTAssertEqual(report.objectsCopied, 0, report.text)
        XCTAssertEqual(reasons(report), ["k": MigrationRunner.changedInGateway])
        XCTAssertEqual(get("docs", "k").body, Array("the client's".utf8))
        // The copy's pending record proves nothing: the next run keeps the client's object too.
        XCTAssertEqual(try gw.metadata.migratedObject(bucket: "docs", key: "k")?.committed, false)
        XCTAssertEqual(reasons(runner(p).run()), ["k": MigrationRunner.changedInGateway])
        XCTAssertEqual(get("docs", "k").body, Array("the client's".utf8))
    }

    func testACommittedCopyIsMarkedSoAnInterruptedOneIsCopiedAgain() throws {
        source.addBucket("docs")
        source.put("docs", "k", Self.bytes(100))
        let p = try plan("fi")
        XCTAssertEqual(runner(p).run().objectsCopied, 1)
        XCTAssertEqual(try gw.metadata.migratedObject(bucket: "docs", key: "k")?.committed, true)
        // A record whose commit never happened (a crash between the two) names no object.
        XCTAssertEqual(gw.send("DELETE", "/docs/k").status, 204)
        var r = try XCTUnwrap(try gw.metadata.migratedObject(bucket: "docs", key: "k"))
        r.committed = false
        try gw.metadata.recordMigratedObject(r)
        XCTAssertEqual(runner(p).run().objectsCopied, 1)
        XCTAssertEqual(get("docs", "k").body, Self.bytes(100))
    }
}
