import FastCGI
import Foundation

extension FastCGIServer {
    /// After `beginDrain`: waits for in-flight requests to finish. A thread that was already
    /// inside accept() may take one more request after the drain began, so the count must stay
    /// at zero a while (three looks, 50 ms apart); `timeout` bounds the wait when given.
    func settle(timeout: Double? = nil) {
        var idle = 0
        let deadline = timeout.map { Date().timeIntervalSince1970 + $0 }
        while idle < 3 && deadline.map({ Date().timeIntervalSince1970 < $0 }) ?? true {
            idle = inFlight.load(ordering: .relaxed) > 0 ? 0 : idle + 1
            usleep(50_000)
        }
    }
}
