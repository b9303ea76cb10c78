internal import CCurl

#if canImport(Glibc)
    internal import Glibc
#endif

/// Per-thread free lists of (multi, easy) handle pairs: each worker thread keeps its warm
/// connections to providers across requests (a thread may hold two at once, e.g. a copy
/// between remote zones).
enum CurlHandlePool {
    final class Pool {
        var free: [(multi: UnsafeMutableRawPointer, easy: UnsafeMutableRawPointer)] = []
        deinit {
            for h in free {
                curl_easy_cleanup(h.easy)
                curl_multi_cleanup(h.multi)
            }
        }
    }

    nonisolated(unsafe) private static var key: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k) { p in
            if let p { Unmanaged<Pool>.fromOpaque(p).release() }
        }
        return k
    }()

    private static var pool: Pool {
        if let p = pthread_getspecific(key) { return Unmanaged<Pool>.fromOpaque(p).takeUnretainedValue() }
        let p = Pool()
        pthread_setspecific(key, Unmanaged.passRetained(p).toOpaque())
        return p
    }

    static func take() -> (multi: UnsafeMutableRawPointer, easy: UnsafeMutableRawPointer)? {
        if let h = pool.free.popLast() { return h }
        guard let m = curl_multi_init() else { return nil }
        guard let e = curl_easy_init() else {
            curl_multi_cleanup(m)
            return nil
        }
        return (m, e)
    }

    static func give(multi: UnsafeMutableRawPointer, easy: UnsafeMutableRawPointer) {
        let p = pool
        if p.free.count < 4 {
            p.free.append((multi, easy))
        } else {
            curl_easy_cleanup(easy)
            curl_multi_cleanup(multi)
        }
    }
}
