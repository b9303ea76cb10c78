import CLinux
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// This process's writers of one database file, one at a time, queued on a mutex.
///
/// SQLite has one writer per database; a connection that finds the write lock taken can only
/// retry, and its busy handler sleeps between tries (SQLite's own: 1, 2, 5, 10 … ms). A write
/// transaction here lasts tens of microseconds, so 32 request threads polling each other slept
/// most of their time: a worker's 4 KiB PUTs made 4 sleeps each. Waiting on a mutex instead, a
/// writer is woken the moment the one before it commits. The mutex is adaptive (a short spin
/// first, then the kernel queue) and waited on with a deadline, so a writer that never finishes
/// turns into the same error a busy database gave before, not a hang. Other processes' writers
/// still meet at SQLite's lock, through `SQLiteBusyWait`.
final class SQLiteWriterGate: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    private init() {
        var attr = pthread_mutexattr_t()
        pthread_mutexattr_init(&attr)
        pthread_mutexattr_settype(&attr, Int32(PTHREAD_MUTEX_ADAPTIVE_NP))
        pthread_mutex_init(mutex, &attr)
        pthread_mutexattr_destroy(&attr)
    }

    private static let gates = Mutex<[String: SQLiteWriterGate]>([:])

    /// The gate of the database at `path`, shared by every connection of this process that
    /// opens it by that path (and never freed: a process opens a handful of databases).
    static func of(_ path: String) -> SQLiteWriterGate {
        gates.withLock { gates in
            if let gate = gates[path] { return gate }
            let gate = SQLiteWriterGate()
            gates[path] = gate
            return gate
        }
    }

    /// Takes the gate, waiting `seconds` at most; false when that passed.
    func lock(waiting seconds: Double) -> Bool {
        if pthread_mutex_trylock(mutex) == 0 { return true }
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        let nanoseconds = ts.tv_nsec + Int((seconds - Double(Int(seconds))) * 1e9)
        ts.tv_sec += Int(seconds) + nanoseconds / 1_000_000_000
        ts.tv_nsec = nanoseconds % 1_000_000_000
        return pthread_mutex_clocklock(mutex, CLOCK_MONOTONIC, &ts) == 0
    }

    func unlock() { pthread_mutex_unlock(mutex) }
}
