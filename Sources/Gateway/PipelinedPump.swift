import Foundation
import GatewayCore
import Synchronization

/// Streams a large body in two stages so that reading and hashing (the caller's thread: the
/// FastCGI read and the MD5, which is sequential by nature) overlap with writing (one helper
/// thread: the copy into the zone, encryption, write-back). A fixed ring of `buffers` buffers of
/// `bufferSize` bytes carries the bytes between them, so memory stays flat whatever the size.
///
/// A body that fits the ring takes the plain path (no thread). Either stage's error
/// stops both: the helper has exited and no write is in flight when this returns or throws, so
/// the caller may abort or commit the sink at once. The reader's error wins (it is the request's
/// own failure: a short body, a bad digest); otherwise the sink's.
@discardableResult
func pipelinedPump(
    _ source: any ByteSource, into sink: any ByteSink, bufferSize: Int = pipelineBufferSize,
    buffers: Int = pipelineBuffers
) throws -> Int64 {
    precondition(bufferSize > 0 && buffers >= 2)
    let slots = (0..<buffers).map { _ in BodyBuffers.shared.take(bufferSize) }
    // The most each slot held (what its wipe must cover); all of each unless the body ended
    // well, as a read that threw may have written bytes it never returned.
    var used = Array(repeating: 0, count: buffers)
    var finished = false
    // The helper has exited on every way out (see below), so no write still reads a slot.
    defer { for (slot, n) in zip(slots, used) { BodyBuffers.shared.give(slot, used: n) } }
    defer { if !finished { used = slots.map(\.count) } }  // runs before the one above

    // A body that fits the ring is written from here: a helper thread and its hand-offs would
    // cost more than they overlap (small PUTs keep the plain path's cost).
    var counts: [Int] = []
    for (i, slot) in slots.enumerated() {
        let (n, ended) = try fill(slot, from: source)
        used[i] = n
        counts.append(n)
        if ended {
            for (slot, n) in zip(slots, counts) where n > 0 {
                try sink.write(UnsafeRawBufferPointer(rebasing: slot[0..<n]))
            }
            finished = true
            return Int64(counts.reduce(0, +))
        }
    }
    let stage = WriteStage(sink: sink, slots: slots)
    for n in counts { stage.push(count: n) }
    stage.start()
    var total = Int64(counts.reduce(0, +))
    var next = 0
    do {
        while true {
            guard stage.waitForFreeSlot() else { break }  // the writer failed: its error is thrown below
            let (n, ended) = try fill(slots[next], from: source)
            used[next] = max(used[next], n)
            if n > 0 {
                stage.push(count: n)
                total += Int64(n)
                next = (next + 1) % buffers
            }
            if ended { break }
        }
    } catch {
        stage.cancel()
        stage.join()
        throw error
    }
    stage.end()
    stage.join()
    if let failure = stage.failure { throw failure }
    finished = true
    return total
}

/// 256 KiB × 4: the helper writes one buffer while the reader fills the next; 1 MiB per large PUT.
let pipelineBufferSize = BodyBuffers.size
let pipelineBuffers = 4

/// Reads until `buffer` is full or the source ends (a source may return less than asked: aws-chunked
/// decoding stops at chunk ends). Full buffers keep the hand-offs few.
func fill(_ buffer: UnsafeMutableRawBufferPointer, from source: any ByteSource) throws -> (Int, ended: Bool) {
    var n = 0
    while n < buffer.count {
        let got = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[n...]))
        if got == 0 { return (n, true) }
        n += got
    }
    return (n, false)
}

/// The writing stage: a helper thread that writes the filled slots in ring order.
final class WriteStage: @unchecked Sendable {
    /// Helper threads alive in this process (tests check that none outlives its pump).
    static let running = Atomic<Int>(0)
    /// Helper threads started since the process began (tests check which path a body took).
    static let started = Atomic<Int>(0)

    private let sink: any ByteSink
    private let slots: [UnsafeMutableRawBufferPointer]
    private let condition = NSCondition()
    // Guarded by `condition`:
    private var counts: [Int]
    /// Slots filled and not yet released by the writer (the one it is writing included).
    private var inFlight = 0
    private var head = 0
    private var ended = false
    private var cancelled = false
    private var exited = false
    private(set) var failure: (any Error)?

    init(sink: any ByteSink, slots: [UnsafeMutableRawBufferPointer]) {
        self.sink = sink
        self.slots = slots
        counts = Array(repeating: 0, count: slots.count)
    }

    func start() {
        Self.running.add(1, ordering: .relaxed)
        Self.started.add(1, ordering: .relaxed)
        let thread = Thread { [self] in
            run()
            Self.running.subtract(1, ordering: .relaxed)
            condition.lock()
            exited = true
            condition.broadcast()
            condition.unlock()
        }
        thread.name = "put-writer"
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Hands the next slot in ring order, holding `count` bytes, to the writer.
    func push(count: Int) {
        condition.lock()
        counts[(head + inFlight) % slots.count] = count
        inFlight += 1
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until the reader may fill the next slot; false once the writer failed.
    func waitForFreeSlot() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while inFlight == slots.count && failure == nil { condition.wait() }
        return failure == nil
    }

    /// No more slots come: the writer drains what is queued and exits.
    func end() { signal { ended = true } }
    /// The reader failed: the writer exits without writing what is queued.
    func cancel() { signal { cancelled = true } }

    func join() {
        condition.lock()
        while !exited { condition.wait() }
        condition.unlock()
    }

    private func signal(_ change: () -> Void) {
        condition.lock()
        change()
        condition.broadcast()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while inFlight == 0 && !ended && !cancelled { condition.wait() }
            if cancelled || inFlight == 0 {
                condition.unlock()
                return
            }
            let slot = head
            let count = counts[slot]
            condition.unlock()
            do {
                try sink.write(UnsafeRawBufferPointer(rebasing: slots[slot][0..<count]))
            } catch {
                signal { failure = error }
                return
            }
            signal {
                head = (head + 1) % slots.count
                inFlight -= 1
            }
        }
    }
}
