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
