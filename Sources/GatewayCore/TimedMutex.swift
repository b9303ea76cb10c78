import CLinux

#if canImport(Glibc)
    import Glibc
#endif

/// A plain mutex for a short critical section that a waiter may give up on: taking it free is
/// one atomic instruction, no system call; letting it go wakes one waiter (the kernel hands it
/// over one at a time, no broadcast). Adaptive: a thread that finds it taken spins a little
/// first, since its holders keep it for microseconds. Timed waits count on the monotonic clock
/// (`monotonicSeconds`), so a wall-clock jump neither stretches nor cuts them.
public final class TimedMutex: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    public init() {
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
    public func tryLock() -> Bool { pthread_mutex_trylock(mutex) == 0 }

    /// Takes the lock, waiting until `deadline` (`monotonicSeconds`) at most; false when it passed.
    public func lock(until deadline: Double) -> Bool {
        if tryLock() { return true }
        var ts = monotonicTimespec(deadline)
        return pthread_mutex_clocklock(mutex, CLOCK_MONOTONIC, &ts) == 0
    }

    /// Takes the lock, as long as it takes.
    public func lock() { pthread_mutex_lock(mutex) }
    public func unlock() { pthread_mutex_unlock(mutex) }
}
