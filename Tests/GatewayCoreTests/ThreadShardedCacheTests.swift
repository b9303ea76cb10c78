import XCTest

@testable import GatewayCore

final class ThreadShardedCacheTests: XCTestCase {
    func testHitKeepsTheFirstValueAndMissesMakeOne() {
        let cache = ThreadShardedCache<String, Int>(shardCount: 1)
        var made = 0
        XCTAssertEqual(
            cache.value(for: "a") {
                made += 1
                return 1
            }, 1)
        XCTAssertEqual(
            cache.value(for: "a") {
                made += 1
                return 2
            }, 1)
        XCTAssertEqual(
            cache.value(for: "b") {
                made += 1
                return 3
            }, 3)
        XCTAssertEqual(made, 2)
        XCTAssertEqual(cache.count, 2)
    }

    func testAFullShardIsEmptiedSoTheCacheStaysBounded() {
        let cache = ThreadShardedCache<Int, Int>(shardCount: 4, maxEntriesPerShard: 5)
        for i in 0..<100 {
            XCTAssertEqual(cache.value(for: i) { i * 2 }, i * 2)
            XCTAssertLessThanOrEqual(cache.count, 20)
        }
        // Still answers right for a key that was dropped.
        XCTAssertEqual(cache.value(for: 0) { 0 }, 0)
    }

    func testThreadsShareOneAnswer() {
        let cache = ThreadShardedCache<Int, Int>(maxEntriesPerShard: 1_000)
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for i in 0..<200 { XCTAssertEqual(cache.value(for: i) { i + 1 }, i + 1) }
        }
        XCTAssertLessThanOrEqual(cache.count, 16 * 200)
    }
}
