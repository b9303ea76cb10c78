import Foundation
import GatewayCore
import Logging
import SigV4
import Synchronization

/// Appends an `auth.failure` record for every request authentication refused, in its own
/// transaction (there is no change to join). Bounded per process: beyond
/// `[audit] auth_failures_per_minute` failures in a minute are only counted, and the count is
/// recorded (`auth.failures-suppressed`) once the minute is over: with the first failure of a
/// later minute, by `flush` (a timer calls it), or by `close` at shutdown, so a flood of bad
/// signatures cannot keep the store's single writer busy and is never lost from the chain.
public final class AuditFailureObserver: RequestObserver {
    private struct Window {
        var minute: Int64 = 0
        var recorded = 0
        var suppressed = 0
    }

    /// A client chooses the bucket and key it names (percent-decoded, `%00` included): at most
    /// this many UTF-8 bytes of each are recorded.
    static let maxNameBytes = 1024

    private let store: any AuditStore
    private let perMinute: Int
    private let logger: Logger?
    private let window = Mutex(Window())
    private let stopped = Atomic<Bool>(false)
    /// Records the store refused (logged; the request's answer is already out).
    public let appendFailures = Atomic<Int>(0)

    public init(store: any AuditStore, perMinute: Int, logger: Logger? = nil) {
        self.store = store
        self.perMinute = perMinute
        self.logger = logger
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
            if carried > 0 { appendSuppressed(carried) }
            guard record else { return }
            // The access key id the request named (never its signature or a token): the
            // trace's `accessKey` is set only once authentication passed.
            var detail: [(String, AuditValue)] = [("reason", .string(reason)), ("status", .int(Int64(trace.status)))]
            if let claimed = trace.claimedAccessKey, !claimed.isEmpty {
                detail.append(("access_key_id", .string(Self.clean(claimed, maxBytes: 128))))
            }
            append(
                AuditEntry(
                    "auth.failure", bucket: Self.clean(trace.bucket ?? ""), key: Self.clean(trace.key ?? ""),
                    detail: detail))
        }
    }

    /// Records the count of failures left out in a minute that is over (`now` in seconds since
    /// the epoch), or, with `all`, in the current one too (shutdown).
    public func flush(now: Double, all: Bool = false) {
        let minute = Int64(now / 60)
        let carried = window.withLock { w -> Int in
            guard w.suppressed > 0, all || w.minute < minute else { return 0 }
            defer { w.suppressed = 0 }
            return w.suppressed
        }
        if carried > 0 { appendSuppressed(carried) }
    }

    /// Flushes every `interval` seconds on a thread of its own until `close`.
    public func startFlushing(interval: Double = 15, clock: @escaping @Sendable () -> Double) {
        let t = Thread { [self] in
            while !stopped.load(ordering: .relaxed) {
                var left = interval
                while left > 0, !stopped.load(ordering: .relaxed) {
                    usleep(200_000)
                    left -= 0.2
                }
                flush(now: clock())
            }
        }
        t.name = "audit-failure-flush"
        t.start()
    }

    /// Stops the timer and records whatever count is left (the process is ending).
    public func close(now: Double) {
        stopped.store(true, ordering: .relaxed)
        flush(now: now, all: true)
    }

    private func appendSuppressed(_ count: Int) {
        append(AuditEntry("auth.failures-suppressed", detail: [("count", .int(Int64(count)))]))
    }

    private func append(_ entry: AuditEntry) {
        do {
            try store.appendAudit(entry)
        } catch {
            appendFailures.add(1, ordering: .relaxed)
            logger?.error("audit: could not record \(entry.change): \(error)")
        }
    }

    /// `text` with control characters percent-escaped (`%00`, as the client sent them) and cut
    /// to `maxBytes` UTF-8 bytes on a character boundary.
    static func clean(_ text: String, maxBytes: Int = maxNameBytes) -> String {
        var out = ""
        var bytes = 0
        for u in text.unicodeScalars {
            let piece =
                u.value < 0x20 || u.value == 0x7f ? "%" + String(format: "%02X", u.value) : String(Character(u))
            bytes += piece.utf8.count
            if bytes > maxBytes { break }
            out += piece
        }
        return out
    }
}
