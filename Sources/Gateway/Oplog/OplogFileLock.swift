import CLinux

#if canImport(Glibc)
    import Glibc
#endif

/// Who may use the process's `OplogFile`: a request thread writing its own line, or the writer
/// thread. A plain mutex, not the queue's monitor: taking it free is one atomic instruction, no
/// system call; unlocking it wakes one waiter (the kernel hands it over one at a time, no
/// broadcast). Adaptive: a thread that finds it taken spins a little first, since it is held for
/// a `write(2)` (microseconds), not long enough to be worth sleeping. Timed waits count on the
/// monotonic clock.
final class OplogFileLock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    init() {
        var attr = pthread_mutexattr_t()
        pthread_mutexattr_init(&attr)
        pthread_mutexattr_settype(&attr, Int32(PTHREAD_MUTEX_ADAPTIVE_NP))
        pthread_mutex_init(mutex, &attr)
        pthread_mutexattr_destroy(&attr)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Takes the lock if it is free, at once; false when another holds it.
    func tryLock() -> Bool { pthread_mutex_trylock(mutex) == 0 }

    /// Takes the lock, waiting until `deadline` (monotonic seconds) at most; false when it passed.
    func lock(until deadline: Double) -> Bool {
        var ts = OplogMonitor.absoluteTime(deadline)
        return pthread_mutex_clocklock(mutex, CLOCK_MONOTONIC, &ts) == 0
    }

    /// Takes the lock, as long as it takes (the writer thread only: no request waits on it).
    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
}
