import GatewayCore
import Synchronization

/// Appends an `auth.failure` record for every request authentication refused, in its own
/// transaction (there is no change to join). Bounded per process: beyond
/// `[audit] auth_failures_per_minute` failures in a minute are only counted, and the count is
/// recorded (`auth.failures-suppressed`) with the first failure of a later minute, so a flood of
/// bad signatures cannot keep the store's single writer busy.
public final class AuditFailureObserver: RequestObserver {
    private struct Window {
        var minute: Int64 = 0
        var recorded = 0
        var suppressed = 0
    }

    private let store: any AuditStore
    private let perMinute: Int
    private let window = Mutex(Window())

    public init(store: any AuditStore, perMinute: Int) {
        self.store = store
        self.perMinute = perMinute
    }

    public func requestFinished(_ trace: RequestTrace) {
        guard let reason = trace.authFailure else { return }
        let minute = Int64(trace.started / 60)
        let (record, carried) = window.withLock { w -> (Bool, Int) in
            var carried = 0
            if w.minute != minute {
                carried = w.suppressed
                w = Window(minute: minute)
            }
            guard w.recorded < perMinute else {
                w.suppressed += 1
                return (false, carried)
            }
            w.recorded += 1
            return (true, carried)
        }
        trace.run {
            if carried > 0 {
                _ = try? store.appendAudit(
                    AuditEntry("auth.failures-suppressed", detail: [("count", .int(Int64(carried)))]))
            }
            guard record else { return }
            // The access key id the request named (never its signature or a token); the
            // trace's `accessKey` is set only once authentication passed.
            _ = try? store.appendAudit(
                AuditEntry(
                    "auth.failure", bucket: trace.bucket ?? "", key: trace.key ?? "",
                    detail: [("reason", .string(reason)), ("status", .int(Int64(trace.status)))]))
        }
    }
}
