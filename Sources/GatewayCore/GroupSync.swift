#if canImport(Glibc)
    import Glibc
#endif

/// Group commit: one sync makes durable everything written before it began, for every caller
/// waiting on it, instead of a sync per caller.
///
/// `sync()` returns once a sync that began after the call has ended. The first caller that
/// finds none running leads: it runs the sync on its own thread while later callers wait, and
/// the callers that arrived meanwhile are all covered by the next sync, which one of them leads.
/// A failed sync fails every caller it was to cover (and, conservatively, anyone still waking
/// when a later one fails).
///
/// Where it pays: many writers appending to one file (a database's write-ahead log), where one
/// `fdatasync` covers them all. It does not pay for many small files: one `syncfs(2)` for all of
/// a filesystem's new blobs measured no faster than an fsync of each (bench/README.md).
public final class GroupSync: @unchecked Sendable {
    /// The sync itself; returns 0 or an errno.
    private let run: () -> Int32
    private let what: String
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let ended = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Under `mutex`: syncs begun and finished (each counts up by one), whether one is running,
    /// the last that failed (with its errno), and the callers waiting.
    private var begun: UInt64 = 0
    private var finished: UInt64 = 0
    private var running = false
    private var lastFailed: (sync: UInt64, errno: Int32)?
    private var waiting = 0

    /// `what` names the sync in errors ("fdatasync /var/lib/s3gw/metadata.db-wal").
    public init(what: String, run: @escaping () -> Int32) {
        self.what = what
        self.run = run
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(ended, nil)
    }

    deinit {
        pthread_cond_destroy(ended)
        pthread_mutex_destroy(mutex)
        ended.deallocate()
        mutex.deallocate()
    }

    /// Syncs begun so far.
    public var syncsBegun: UInt64 { locked { begun } }
    /// Callers waiting for a sync (tests).
    public var callersWaiting: Int { locked { waiting } }

    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }

    /// Returns once everything written before the call is durable; throws if the sync that was
    /// to cover it failed.
    public func sync() throws(StoreError) {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        // A sync running now may have begun before this caller's writes: only the next counts.
        let needed = begun + 1
        waiting += 1
        defer { waiting -= 1 }
        while finished < needed {
            if running {
                pthread_cond_wait(ended, mutex)
                continue
            }
            running = true
            begun += 1
            let this = begun
            pthread_mutex_unlock(mutex)
            let failure = run()
            pthread_mutex_lock(mutex)
            running = false
            finished = this
            if failure != 0 { lastFailed = (this, failure) }
            pthread_cond_broadcast(ended)
        }
        if let failed = lastFailed, failed.sync >= needed {
            throw .internalFailure("\(what): \(String(cString: strerror(failed.errno)))")
        }
    }
}
