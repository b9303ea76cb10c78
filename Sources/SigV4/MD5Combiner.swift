import Dispatch
import Foundation
import MD5Lanes
import Synchronization

/// Hashes the whole MD5 blocks of concurrent bodies together, sixteen streams in the lanes of
/// one AVX-512 vector (`MD5Lanes`). One stream's MD5 is sequential and bounded by one core;
/// sixteen in lanes cost about what one costs scalar, which is what lets concurrent PUTs stop
/// paying a core-millisecond per MiB each.
///
/// Flat combining: a caller queues its run of blocks and either becomes the leader — hashing
/// every queued run, its own and the others', until its own is done, then handing the lead to
/// the oldest run still queued — or sleeps until the leader has hashed its run. No thread of
/// its own: hashing happens on the request threads that need it, so an idle gateway spends
/// nothing and one lone stream hashes scalar on its own thread as before.
final class MD5Combiner: @unchecked Sendable {
    static let shared = MD5Combiner(lanes: cpuHasAVX512())

    /// Streams per vector pass: `MD5Lanes.run` hashes 16 (kept here, not in that module, so
    /// nothing compiled for AVX-512 runs before the CPU check).
    static let lanes = 16
    /// Shorter runs hash at once on the caller's thread: a hand-off costs more than they do.
    static let minimumBlocks = 128
    /// With fewer runs queued than this, hashing them one after another scalar is cheaper than
    /// a vector pass (a lane runs at about half a scalar core's speed).
    static let minimumLanes = 3
    /// Blocks per vector pass: runs queued meanwhile wait at most this long for a lane.
    static let step = 64
    /// Blocks per scalar turn when few runs are queued, for the same reason.
    static let scalarTurn = 256

    /// Whether this CPU can run the lanes at all: everything the module's target CPU
    /// (skylake-avx512) lets the compiler use, AVX-512 F, CD, BW, DQ and VL above all.
    let lanesAvailable: Bool
    private let enabled: Atomic<Bool>
    /// Vector passes run so far (tests read it).
    let vectorPasses = Atomic<Int>(0)
    private let queue = Mutex(Queue())

    // The leader's scratch: only the one leader touches it, between taking and handing the lead.
    private let laneWords = UnsafeMutablePointer<UInt32>.allocate(capacity: 4 * MD5Combiner.lanes)
    private let laneInputs = UnsafeMutablePointer<UnsafeRawPointer>.allocate(capacity: MD5Combiner.lanes)
    /// Zeros that idle lanes hash (and nobody reads back).
    private let idleBlocks = UnsafeMutableRawPointer.allocate(byteCount: 64 * step, alignment: 64)

    private struct Queue {
        var runs: [Run] = []
        var leading = false
    }

    /// One caller's blocks. Its fields belong to the caller until it is queued, then to the
    /// leader until it is done; the semaphore orders the two.
    private final class Run: @unchecked Sendable {
        var words: MD5Words
        var next: UnsafeRawPointer
        var blocks: Int
        let wake = DispatchSemaphore(value: 0)

        init(_ words: MD5Words, _ next: UnsafeRawPointer, _ blocks: Int) {
            self.words = words
            self.next = next
            self.blocks = blocks
        }
    }

    init(lanes: Bool) {
        lanesAvailable = lanes
        enabled = Atomic(lanes)
        idleBlocks.initializeMemory(as: UInt8.self, repeating: 0, count: 64 * Self.step)
        laneWords.initialize(repeating: 0, count: 4 * Self.lanes)
        laneInputs.initialize(repeating: UnsafeRawPointer(idleBlocks), count: Self.lanes)
    }

    deinit {
        laneWords.deallocate()
        laneInputs.deallocate()
        idleBlocks.deallocate()
    }

    /// `[server] md5_lanes`: off, every run hashes scalar on its caller's thread. On has no
    /// effect on a CPU without AVX-512.
    func setEnabled(_ on: Bool) { enabled.store(on && lanesAvailable, ordering: .relaxed) }
    var isEnabled: Bool { enabled.load(ordering: .relaxed) }

    /// Runs `blocks` whole 64-byte blocks at `start` through MD5 from `words`.
    func hash(_ words: inout MD5Words, _ start: UnsafeRawPointer, blocks: Int) {
        guard blocks >= Self.minimumBlocks, isEnabled else {
            words.scalar(start, count: blocks)
            return
        }
        let run = Run(words, start, blocks)
        let leads = queue.withLock { q in
            q.runs.append(run)
            if q.leading { return false }
            q.leading = true
            return true
        }
        // Woken either with the run hashed, or handed the lead with blocks left.
        if !leads { run.wake.wait() }
        if run.blocks > 0 { lead(until: run) }
        words = run.words
    }

    private func lead(until own: Run) {
        while true {
            let runs = queue.withLock { Array($0.runs.prefix(Self.lanes)) }
            if runs.count >= Self.minimumLanes {
                vectorPass(runs)
            } else {
                for run in runs { scalarTurn(run) }
            }
            let (finished, successor) = queue.withLock { q -> ([Run], Run?) in
                var finished: [Run] = []
                q.runs.removeAll { run in
                    if run.blocks == 0 { finished.append(run) }
                    return run.blocks == 0
                }
                guard own.blocks == 0 else { return (finished, nil) }
                if q.runs.isEmpty { q.leading = false }
                return (finished, q.runs.first)
            }
            for run in finished where run !== own { run.wake.signal() }
            successor?.wake.signal()
            if own.blocks == 0 { return }
        }
    }

    private func scalarTurn(_ run: Run) {
        let n = min(run.blocks, Self.scalarTurn)
        run.words.scalar(run.next, count: n)
        run.next += n * 64
        run.blocks -= n
    }

    private func vectorPass(_ runs: [Run]) {
        let lanes = Self.lanes
        var n = Self.step
        for (l, run) in runs.enumerated() {
            n = min(n, run.blocks)
            laneWords[l] = run.words.a
            laneWords[lanes + l] = run.words.b
            laneWords[2 * lanes + l] = run.words.c
            laneWords[3 * lanes + l] = run.words.d
            laneInputs[l] = run.next
        }
        for l in runs.count..<lanes { laneInputs[l] = UnsafeRawPointer(idleBlocks) }
        MD5Lanes.run(state: laneWords, inputs: laneInputs, blocks: n)
        vectorPasses.add(1, ordering: .relaxed)
        for (l, run) in runs.enumerated() {
            run.words = MD5Words(
                a: laneWords[l], b: laneWords[lanes + l], c: laneWords[2 * lanes + l], d: laneWords[3 * lanes + l])
            run.next += n * 64
            run.blocks -= n
        }
    }

    /// The kernel's flags for CPU 0 (Linux lists only what it enabled, XSAVE state included):
    /// the AVX-512 subsets, and the other extensions skylake-avx512 code may contain.
    static func cpuHasAVX512() -> Bool {
        #if arch(x86_64)
            guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
                let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
            else { return false }
            let flags = Set(line.split(separator: " ").map(String.init))
            return [
                "avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl", "avx2", "fma", "bmi1", "bmi2", "movbe",
                "popcnt", "f16c",
            ].allSatisfy(flags.contains)
        #else
            return false
        #endif
    }
}
