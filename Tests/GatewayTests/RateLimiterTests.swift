import Gateway
import GatewayCore
import Synchronization
import XCTest

final class RateLimiterTests: XCTestCase {
    final class ManualClock: Clock {
        let t = Mutex(0.0)
        func now() -> Double { t.withLock { $0 } }
        func advance(_ s: Double) { t.withLock { $0 += s } }
    }

    func testOneSecondOfBurstThenTheRateAndEachNameOnItsOwn() {
        let clock = ManualClock()
        let limit = RateLimiter(bytesPerSecond: 1000, clock: clock)
        XCTAssertEqual(limit.reserve(1000, for: "zone-a"), 0, "a second's worth goes at once")
        XCTAssertEqual(limit.reserve(500, for: "zone-a"), 0.5, accuracy: 1e-9)
        XCTAssertEqual(limit.reserve(500, for: "zone-b"), 0, "another zone has its own bucket")
        clock.advance(2)
        // Refilled by 2000 bytes but never beyond one second's burst.
        XCTAssertEqual(limit.reserve(1000, for: "zone-a"), 0)
        XCTAssertEqual(limit.reserve(1, for: "zone-a"), 0.001, accuracy: 1e-9)
        XCTAssertEqual(RateLimiter(bytesPerSecond: 0, clock: clock).reserve(1 << 30, for: "x"), 0, "0 is unlimited")
    }
}
