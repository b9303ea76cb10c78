import GatewayCore
import Synchronization

/// This process's writers of one database file, one at a time, queued on a mutex.
///
/// SQLite has one writer per database; a connection that finds the write lock taken can only
/// retry, and its busy handler sleeps between tries (SQLite's own: 1, 2, 5, 10 … ms). A write
/// transaction here lasts tens of microseconds, so 32 request threads polling each other slept
/// most of their time: a worker's 4 KiB PUTs made 4 sleeps each. Waiting on a mutex instead, a
/// writer is woken the moment the one before it commits. The mutex (`TimedMutex`) is adaptive
/// and waited on with a deadline, so a writer that never finishes
/// turns into the same error a busy database gave before, not a hang. Other processes' writers
/// still meet at SQLite's lock, through `SQLiteBusyWait`.
final class SQLiteWriterGate: Sendable {
    private let mutex = TimedMutex()

    private init() {}

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
    func lock(waiting seconds: Double) -> Bool { mutex.lock(until: monotonicSeconds() + seconds) }

    func unlock() { mutex.unlock() }
}
