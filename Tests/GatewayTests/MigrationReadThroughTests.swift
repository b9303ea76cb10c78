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
        for (answer, status, code) in cases {
            fake.answer.withLock { $0 = answer }
            let r = gw.send("GET", "/moving/k")
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
        let server = try ReadThroughServer(path: socket, logger: Logger(label: "test")) { bucket, key in
            runner.readThrough(bucket: bucket, key: key)
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
