internal import CSQLite

#if canImport(Glibc)
    import Glibc
#endif

/// How a connection waits for a lock another process holds: SQLite calls the busy handler and
/// retries while it returns 1. SQLite's own timeout handler sleeps 1, 2, 5, 10 … 100 ms between
/// tries; the writes here hold the lock for tens of microseconds, so the first sleep alone was
/// dozens of other processes' transactions long. This one tries again after 50 µs, backs off to
/// 1 ms, and gives up — the same "database is locked" as before — after `timeout`.
/// Within a process writers queue on `SQLiteWriterGate`, so at most one thread per process
/// and database waits here for a write.
enum SQLiteBusyWait {
    /// Seconds a statement waits for a lock before it fails.
    static let timeout = 30.0

    /// The pauses in turn: `times` of them of `micros` each; the last step lasts.
    private static let schedule: [(times: Int32, micros: UInt32)] = [(20, 50), (20, 200), (.max, 1000)]

    /// Microseconds to sleep before retry `count` (0 for the first).
    static func pause(_ count: Int32) -> UInt32 {
        var n = count
        for step in schedule {
            if n < step.times { return step.micros }
            n -= step.times
        }
        return schedule[schedule.count - 1].micros
    }

    /// Whether a waiter that has slept `count` pauses may retry once more.
    static func retries(_ count: Int32) -> Bool { slept(count) < timeout * 1_000_000 }

    /// Microseconds slept by the first `count` pauses.
    static func slept(_ count: Int32) -> Double {
        var left = Double(count)
        var total = 0.0
        for step in schedule {
            let n = min(left, Double(step.times))
            total += n * Double(step.micros)
            left -= n
        }
        return total
    }

    static func install(_ db: OpaquePointer) {
        sqlite3_busy_handler(
            db,
            { _, count in
                guard SQLiteBusyWait.retries(count) else { return 0 }
                usleep(SQLiteBusyWait.pause(count))
                return 1
            }, nil)
    }
}
