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

    /// Microseconds to sleep before retry `count` (0 for the first).
    static func pause(_ count: Int32) -> UInt32 {
        switch count {
        case ..<20: 50
        case ..<40: 200
        default: 1000
        }
    }

    /// Whether a waiter that has slept `count` pauses may retry once more.
    static func retries(_ count: Int32) -> Bool { slept(count) < timeout * 1_000_000 }

    /// Microseconds slept by the first `count` pauses.
    static func slept(_ count: Int32) -> Double {
        let n = Double(count)
        return 50 * min(n, 20) + 200 * min(max(n - 20, 0), 20) + 1000 * max(n - 40, 0)
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
