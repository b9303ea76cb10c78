import Foundation
import GatewayCore
import GatewayTesting
import Synchronization
import XCTest

@testable import Gateway

/// `parallel` copies at once, whatever the CPU count: each copy mostly waits on the network.
extension MigrationRunnerTests {
    func testParallelCopiesRunAtOnceBeyondTheCPUCount() throws {
        var options = MigrationRunner.Options()
        options.parallel = ProcessInfo.processInfo.activeProcessorCount + 4
        source.addBucket("many")
        for i in 0..<(2 * options.parallel) { source.put("many", "k\(i)", Self.bytes(50, seed: i)) }
        let gate = ConcurrencyGate(source, opening: options.parallel)
        let report = runner(try plan("fi"), source: gate, options: options).run()
        XCTAssertEqual(report.objectsCopied, Int64(2 * options.parallel), report.text)
        XCTAssertEqual(gate.most, options.parallel, "copies at once")
    }
}

/// The in-memory source whose GetObjects wait (up to two seconds) until `opening` of them wait
/// together, counting the most that ever did.
final class ConcurrencyGate: SourceAccount {
    let inner: InMemorySourceAccount
    let opening: Int
    private let waiting = Mutex<(now: Int, most: Int)>((0, 0))

    init(_ inner: InMemorySourceAccount, opening: Int) {
        self.inner = inner
        self.opening = opening
    }

    var most: Int { waiting.withLock { $0.most } }

    func listBuckets() throws(SourceError) -> [SourceBucket] { try inner.listBuckets() }
    func region(of bucket: String) throws(SourceError) -> String { try inner.region(of: bucket) }
    func features(of bucket: String, region: String) -> SourceBucketFeatures {
        inner.features(of: bucket, region: region)
    }
    func listObjects(bucket: String, region: String, continuation: String?) throws(SourceError) -> SourcePage {
        try inner.listObjects(bucket: bucket, region: region, continuation: continuation)
    }
    func open(bucket: String, region: String, key: String) throws(SourceError) -> any SourceObjectReader {
        waiting.withLock {
            $0.now += 1
            $0.most = max($0.most, $0.now)
        }
        let deadline = Date().addingTimeInterval(2)
        while waiting.withLock({ $0.most }) < opening && Date() < deadline { Thread.sleep(forTimeInterval: 0.005) }
        waiting.withLock { $0.now -= 1 }
        return try inner.open(bucket: bucket, region: region, key: key)
    }
}
