import Foundation
import GatewayCore
import GatewayTesting
import Logging
import Synchronization
import XCTest

@testable import Gateway

#if canImport(Glibc)
    import Glibc
#endif

/// Read-through: a GET or HEAD of a key the gateway lacks, in a bucket a run copies with
/// read-through on, is answered after the run copied the key. First the handler against a
/// fake run, then the real socket between a worker and a MigrationRunner.
final class MigrationReadThroughTests: XCTestCase {
    final class FakeRun: ReadThroughFetcher {
        let answer: Mutex<ReadThroughAnswer> = Mutex(.copied)
        let asked = Mutex<[String]>([])
        /// What the fake run does before answering (puts the object, as a real run would).
        let before = Mutex<(@Sendable () -> Void)?>(nil)

        func fetch(_ route: ReadThroughRoute, key: String) -> ReadThroughAnswer {
            asked.withLock { $0.append("\(route.bucket)/\(key)") }
            before.withLock { $0 }?()
            return answer.withLock { $0 }
        }
    }

    let fake = FakeRun()
    var gw: TestGateway!
    var dir: String!

    override func setUpWithError() throws {
        let fake = self.fake
        gw = TestGateway(configure: { $0.migration.readThrough = fake })
        XCTAssertEqual(gw.send("PUT", "/moving").status, 200)
        dir = NSTemporaryDirectory() + "rt-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func testAMissingKeyIsServedOnceTheRunCopiedIt() throws {
        try gw.metadata.setReadThrough(ReadThroughRoute(bucket: "moving", runId: "r", socket: "/nowhere"))
        // The test drives one request at a time; the fake run writes while the GET waits.
        nonisolated(unsafe) let gw = self.gw!
        fake.before.withLock { $0 = { _ = gw.send("PUT", "/moving/late.txt", body: Array("hello".utf8)) } }
        let r = gw.send("GET", "/moving/late.txt")
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.text, "hello")
        XCTAssertEqual(fake.asked.withLock { $0 }, ["moving/late.txt"])
        // Present now: no second question.
        XCTAssertEqual(gw.send("HEAD", "/moving/late.txt").status, 200)
        XCTAssertEqual(fake.asked.withLock { $0 }.count, 1)
    }

    func testEachAnswerOfTheRun() throws {
        try gw.metadata.setReadThrough(ReadThroughRoute(bucket: "moving", runId: "r", socket: "/nowhere"))
        let cases: [(ReadThroughAnswer, Int, String)] = [
            (.absent, 404, "NoSuchKey"), (.unavailable, 404, "NoSuchKey"), (.timedOut, 503, "ServiceUnavailable"),
            (.failed("archived"), 503, "ServiceUnavailable"),
            // The run said copied but the object is not there (deleted meanwhile): still NoSuchKey.
            (.copied, 404, "NoSuchKey"),
        ]
        for (i, (answer, status, code)) in cases.enumerated() {
            fake.answer.withLock { $0 = answer }
            // A key each: one the source lacks is remembered as such (see below).
            let r = gw.send("GET", "/moving/k\(i)")
            XCTAssertEqual(r.status, status, "\(answer)")
            XCTAssertEqual(r.errorCode, code, "\(answer)")
            XCTAssertFalse(r.text.contains("archived"), "the run's reason stays in the log")
        }
        XCTAssertEqual(gw.send("HEAD", "/moving/k").status, 404)
    }

    func testNoRouteOrAVersionedReadAsksNobody() throws {
        XCTAssertEqual(gw.send("GET", "/moving/k").status, 404)
        try gw.metadata.setReadThrough(ReadThroughRoute(bucket: "moving", runId: "r", socket: "/nowhere"))
        XCTAssertEqual(gw.send("GET", "/moving/k?versionId=abc").status, 400)
        XCTAssertEqual(gw.send("GET", "/other/k").status, 404)
        XCTAssertEqual(fake.asked.withLock { $0 }, [])
    }

    func testAKeyTheSourceLacksIsNotAskedForAgainForAWhile() throws {
        try gw.metadata.setReadThrough(ReadThroughRoute(bucket: "moving", runId: "r", socket: "/nowhere"))
        fake.answer.withLock { $0 = .absent }
        for _ in 0..<5 { XCTAssertEqual(gw.send("GET", "/moving/nothing-here").errorCode, "NoSuchKey") }
        XCTAssertEqual(gw.send("HEAD", "/moving/nothing-here").status, 404)
        XCTAssertEqual(fake.asked.withLock { $0 }, ["moving/nothing-here"], "one question to the run, and the source")
        // Another key, or the same key under another run, is asked for.
        XCTAssertEqual(gw.send("GET", "/moving/other").status, 404)
        try gw.metadata.setReadThrough(ReadThroughRoute(bucket: "moving", runId: "r2", socket: "/nowhere"))
        XCTAssertEqual(gw.send("GET", "/moving/nothing-here").status, 404)
        XCTAssertEqual(fake.asked.withLock { $0 }.count, 3)
    }

    func testAbsentKeysAreForgottenAfterTheirTimeAndTheListIsBounded() {
        let keys = ReadThroughAbsentKeys(ttl: 30, capacity: 3)
        let route = ReadThroughRoute(bucket: "b", runId: "r", socket: "/s")
        keys.insert(route, key: "a", now: 100)
        XCTAssertTrue(keys.contains(route, key: "a", now: 129))
        XCTAssertFalse(keys.contains(route, key: "a", now: 131))
        for k in ["a", "b", "c", "d", "e"] { keys.insert(route, key: k, now: 200) }
        XCTAssertLessThanOrEqual(keys.count, 3)
        XCTAssertTrue(keys.contains(route, key: "e", now: 201))
    }

    func testReadsBeyondTheProcesssCapAreToldToSlowDown() throws {
        let fake = FakeRun()
        let gw = TestGateway(configure: {
            $0.migration.readThrough = fake
            $0.migration.readThroughGate = ReadThroughGate(limit: 1)
        })
        XCTAssertEqual(gw.send("PUT", "/moving").status, 200)
        try gw.metadata.setReadThrough(ReadThroughRoute(bucket: "moving", runId: "r", socket: "/nowhere"))
        let release = DispatchSemaphore(value: 0)
        fake.answer.withLock { $0 = .absent }
        fake.before.withLock { $0 = { release.wait() } }
        let first = DispatchSemaphore(value: 0)
        nonisolated(unsafe) let g = gw
        Thread {
            _ = g.send("GET", "/moving/slow")
            first.signal()
        }.start()
        let deadline = Date().addingTimeInterval(5)
        while fake.asked.withLock({ $0.count }) == 0 && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        XCTAssertEqual(gw.context.migration.readThroughGate.count, 1, "one thread waits for the run")
        let r = gw.send("GET", "/moving/another")
        XCTAssertEqual(r.status, 503)
        XCTAssertEqual(r.errorCode, "SlowDown")
        XCTAssertEqual(r.header("retry-after"), "1")
        XCTAssertEqual(fake.asked.withLock { $0 }, ["moving/slow"], "the second read did not wait")
        release.signal()
        XCTAssertEqual(first.wait(timeout: .now() + 5), .success)
        XCTAssertEqual(gw.context.migration.readThroughGate.count, 0)
        fake.before.withLock { $0 = nil }
        XCTAssertEqual(gw.send("GET", "/moving/another").errorCode, "NoSuchKey", "a place is free again")
    }

    func testAReadThroughDoesNotWaitForeverForTheRunsOwnCopyOfTheKey() throws {
        let real = TestGateway()
        let principal = real.context.identities.resolve(TestGateway.accessKey)!.principal
        let plan = try MigrationPlanFile.decode(
            Data(contentsOf: SnapshotTests.fixtures.appendingPathComponent("migration-plan-v1.json")))
        let runner = MigrationRunner(
            plan: plan, source: InMemorySourceAccount(), principal: principal, ctx: real.context,
            logger: Logger(label: "test"))
        let holding = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        Thread {
            _ = try? runner.exclusively("b", "k") { () throws(SourceError) -> Int in
                holding.signal()
                release.wait()
                return 1
            }
        }.start()
        holding.wait()
        defer { release.signal() }
        let started = Date()
        let waited = try runner.exclusively("b", "k", wait: 0.2) { () throws(SourceError) -> Int in 2 }
        XCTAssertNil(waited, "the key is still held: given up")
        XCTAssertLessThan(Date().timeIntervalSince(started), 1.5)
        XCTAssertEqual(try runner.exclusively("b", "other", wait: 0.2) { () throws(SourceError) -> Int in 3 }, 3)
    }

    // MARK: - Over the socket, with a real run

    func testTheRunCopiesAKeyAWorkerAsksForAndDoesNotReadItAgain() throws {
        let real = TestGateway(zones: [.init(name: "zone-a", country: "se", region: "se-sto")])
        let source = InMemorySourceAccount()
        source.addBucket("src")
        for i in 0..<5 { source.put("src", "k\(i)", Array("value \(i)".utf8), contentType: "text/plain") }
        let principal = real.context.identities.resolve(TestGateway.accessKey)!.principal
        let snapshot = SnapshotV1(
            schemaVersion: 1,
            snapshot: .init(
                id: "s", createdAt: Date(), source: .init(endpoint: "https://s3.amazonaws.com", region: "us-east-1")!,
                sanitization: .prefixes, prefixDepth: 2),
            buckets: [
                .init(
                    name: "src", region: "us-east-1", objects: nil, listing: .complete, statuses: .init(),
                    summary: .init(
                        objectCount: 5, totalBytes: 35, storageClasses: [], sizeHistogram: [], lastModified: [],
                        topPrefixes: []))
            ])
        let plan = try real.context.migrationPlan(
            for: snapshot, options: .init(constraint: "se"), by: principal, id: "rt-plan")
        let socket = ReadThroughServer.path(stateDir: dir, runId: plan.plan.id)
        var options = MigrationRunner.Options()
        options.readThroughSocket = socket
        let runner = MigrationRunner(
            plan: plan, source: source, principal: principal, ctx: real.context, options: options,
            logger: Logger(label: "test"))
        let server = try ReadThroughServer(stateDir: dir, runId: plan.plan.id, logger: Logger(label: "test")) {
            bucket, key in runner.readThrough(bucket: bucket, key: key)
        }
        defer { server.stop() }
        var st = stat()
        XCTAssertEqual(lstat(socket, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o600, "only the gateway's user may ask")
        // The bucket and its route exist once the run has set up its targets.
        let body = "<CreateBucketConfiguration><LocationConstraint>se</LocationConstraint></CreateBucketConfiguration>"
        XCTAssertEqual(real.send("PUT", "/src", body: Array(body.utf8)).status, 200)
        try real.metadata.setReadThrough(ReadThroughRoute(bucket: "src", runId: plan.plan.id, socket: socket))

        let r = real.send("GET", "/src/k3")
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.text, "value 3")
        XCTAssertEqual(r.header("content-type"), "text/plain")
        XCTAssertEqual(source.reads, 1)
        XCTAssertEqual(real.send("GET", "/src/missing").status, 404, "the source lacks it too")

        let report = runner.run()
        XCTAssertEqual(report.objectsCopied, 4, report.text)
        XCTAssertEqual(report.objectsPresent, 1)
        XCTAssertEqual(report.objectsReadThrough, 1)
        XCTAssertEqual(source.reads, 1 + 1 + 4, "k3 read once; the missing key's GET; the other four")
        // The run's end removes the route: a miss is a plain NoSuchKey again.
        XCTAssertNil(try real.metadata.readThrough(bucket: "src"))
    }

    func testAStaleRouteIsIgnoredAndASilentRunTimesOut() throws {
        let worker = UnixSocketReadThrough(timeout: 0.3)
        XCTAssertEqual(
            worker.fetch(ReadThroughRoute(bucket: "b", runId: "r", socket: dir + "/gone.sock"), key: "k"), .unavailable)
        // A run that accepts but never answers.
        let path = dir + "/silent.sock"
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = UnixSocket.address(path)!
        _ = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        listen(fd, 4)
        let started = Date()
        XCTAssertEqual(worker.fetch(ReadThroughRoute(bucket: "b", runId: "r", socket: path), key: "k"), .timedOut)
        XCTAssertLessThan(Date().timeIntervalSince(started), 2)
    }
}
