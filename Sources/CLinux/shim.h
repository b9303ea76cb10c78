#ifndef S3GW_CLINUX_SHIM_H
#define S3GW_CLINUX_SHIM_H

#include <stdint.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <time.h>
#include <fcntl.h>

// sync_file_range(2) is declared only under _GNU_SOURCE, which the Glibc module is built without.
extern int sync_file_range(int fd, int64_t offset, int64_t nbytes, unsigned int flags);

// Starts write-back of a file range and returns at once (SYNC_FILE_RANGE_WRITE).
static inline int s3gw_start_writeback(int fd, int64_t offset, int64_t count) {
    return sync_file_range(fd, offset, count, 2);
}
// Waits until a range's write-back, started earlier, is done (WAIT_BEFORE | WRITE | WAIT_AFTER).
static inline int s3gw_finish_writeback(int fd, int64_t offset, int64_t count) {
    return sync_file_range(fd, offset, count, 1 | 2 | 4);
}

// O_DIRECT is defined only under _GNU_SOURCE as well; glibc's own name for it always is, with
// the value of the architecture built for.
static inline int s3gw_o_direct(void) { return __O_DIRECT; }

// pthread_mutex_clocklock(3) (a timed lock on CLOCK_MONOTONIC, glibc 2.30) is declared only under
// _GNU_SOURCE too.
extern int pthread_mutex_clocklock(pthread_mutex_t *mutex, clockid_t clock, const struct timespec *abstime);

// Atomic access to a counter in memory shared between processes (mmap'd): Swift's atomics live
// in Swift-owned memory only.
static inline uint64_t s3gw_shared_load(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline void s3gw_shared_increment(uint64_t *p) { __atomic_fetch_add(p, 1, __ATOMIC_ACQ_REL); }
// The load again after reads that must not pass it (a seqlock's recheck: a fence first).
static inline uint64_t s3gw_shared_recheck(const uint64_t *p) {
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

// prctl(2) is variadic, which Swift cannot call: fixed-arity wrappers for the options used.
static inline int s3gw_set_dumpable(int dumpable) { return prctl(PR_SET_DUMPABLE, dumpable, 0, 0, 0); }
static inline int s3gw_get_dumpable(void) { return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0); }

#endif
