import Foundation
import GatewayCore

/// The real time, for zones built without a test clock. (Gateway's SystemClock sits above this
/// target, which depends only on GatewayCore.)
struct WallClock: Clock {
    func now() -> Double { Date().timeIntervalSince1970 }
}
