import GatewayCore

#if canImport(Glibc)
    import Glibc
#endif

/// One mutex and two conditions for the writer's queue: `work` (a record was queued, or stop:
/// only the writer thread waits on it, so a signal wakes exactly it) and `done` (a batch was
/// written: requests waiting for their record, `flush`, `stop`). Two conditions, so that
/// queuing a record never wakes the request threads waiting on the disk. Timed waits count on
/// the monotonic clock.
final class OplogMonitor: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let work = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let done = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        pthread_cond_init(work, &attr)
        pthread_cond_init(done, &attr)
        pthread_condattr_destroy(&attr)
    }

    deinit {
        pthread_cond_destroy(work)
        pthread_cond_destroy(done)
        pthread_mutex_destroy(mutex)
        work.deallocate()
        done.deallocate()
        mutex.deallocate()
    }

    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }

    /// With the lock held.
    func waitForWork() { pthread_cond_wait(work, mutex) }
    func workQueued() { pthread_cond_signal(work) }

    /// With the lock held: waits for a batch to be written or `deadline` (monotonic seconds);
    /// false once the deadline has passed.
    func waitForDone(until deadline: Double) -> Bool {
        guard deadline > monotonicSeconds() else { return false }
        var ts = monotonicTimespec(deadline)
        return pthread_cond_timedwait(done, mutex, &ts) != ETIMEDOUT
    }

    func batchDone() { pthread_cond_broadcast(done) }
}
