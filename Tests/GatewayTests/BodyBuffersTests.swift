import GatewayCore
import XCTest

@testable import Gateway

final class BodyBuffersTests: XCTestCase {
    typealias StepSource = PipelinedPumpTests.StepSource
    typealias Collector = PipelinedPumpTests.Collector

    /// A returned buffer is the next one handed out: no fresh mapping per request.
    func testAGivenBufferIsTakenAgain() {
        let pool = BodyBuffers(keep: 2)
        let first = pool.take()
        XCTAssertEqual(first.count, pipelineBufferSize)
        XCTAssertEqual(Int(bitPattern: first.baseAddress) % 4096, 0, "aligned for direct I/O")
        pool.give(first, used: 0)
        XCTAssertEqual(pool.waiting, 1)
        let again = pool.take()
        XCTAssertEqual(again.baseAddress, first.baseAddress)
        XCTAssertEqual(pool.waiting, 0)
        pool.give(again, used: 0)
    }

    /// A buffer comes back wiped as far as it was used: it may have held decrypted plaintext.
    func testAGivenBufferIsWiped() {
        let pool = BodyBuffers(keep: 1)
        let buffer = pool.take()
        buffer.initializeMemory(as: UInt8.self, repeating: 0xA5)
        pool.give(buffer, used: buffer.count)
        let again = pool.take()
        XCTAssertEqual(again.baseAddress, buffer.baseAddress)
        XCTAssertTrue(again.allSatisfy { $0 == 0 })
        UnsafeMutableRawBufferPointer(rebasing: again[0..<5000]).initializeMemory(as: UInt8.self, repeating: 0x5A)
        pool.give(again, used: 5000)
        let third = pool.take()
        XCTAssertTrue(third.allSatisfy { $0 == 0 })
        pool.give(third, used: 0)
    }

    /// Both pumps wipe what a body left in their buffers, however short its last read: the next
    /// request's buffer holds none of it.
    func testPumpsLeaveNothingOfABodyInTheirBuffers() throws {
        // Fresh allocations hold whatever the heap held: start from kept buffers known clean.
        let clean = (0..<BodyBuffers.shared.keep).map { _ in BodyBuffers.shared.take() }
        for buffer in clean { BodyBuffers.shared.give(buffer, used: buffer.count) }
        for size in [17, 4096, pipelineBufferSize + 5, 5 * pipelineBufferSize + 3] {
            let body = [UInt8](repeating: 0xC3, count: size)
            let pumps: [(String, () throws -> Void)] = [
                ("whole buffers", { try pump(StepSource(body, step: 1000), into: Collector(), wholeBuffers: true) }),
                ("each read", { try pump(StepSource(body, step: 777), into: Collector()) }),
                ("pipelined", { try pipelinedPump(StepSource(body, step: 70_000), into: Collector()) }),
            ]
            for (name, run) in pumps {
                try run()
                let held = (0..<BodyBuffers.shared.waiting).map { _ in BodyBuffers.shared.take() }
                XCTAssertEqual(held.count, BodyBuffers.shared.keep)
                for buffer in held {
                    XCTAssertTrue(buffer.allSatisfy { $0 == 0 }, "\(name) left body bytes (\(size))")
                    BodyBuffers.shared.give(buffer, used: 0)
                }
            }
        }
    }

    /// Writes into the whole buffer it is given, then throws: bytes no count reported.
    final class ScribblingSource: ByteSource {
        var reads = 0
        let goodReads: Int
        init(goodReads: Int) { self.goodReads = goodReads }
        func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            reads += 1
            buffer.initializeMemory(as: UInt8.self, repeating: 0xEE)
            if reads > goodReads { throw S3Error(.incompleteBody) }
            return min(buffer.count, 1000)
        }
    }

    /// A body that fails (a bad digest at its end, a client gone) leaves nothing in the kept
    /// buffers either, however much the failing read wrote without reporting it.
    func testFailedBodiesLeaveNothingInTheBuffers() throws {
        let clean = (0..<BodyBuffers.shared.keep).map { _ in BodyBuffers.shared.take() }
        for buffer in clean { BodyBuffers.shared.give(buffer, used: buffer.count) }
        let pumps: [(String, (ScribblingSource) throws -> Void)] = [
            ("whole buffers", { try pump($0, into: Collector(), wholeBuffers: true) }),
            ("each read", { try pump($0, into: Collector()) }),
            ("pipelined", { try pipelinedPump($0, into: Collector()) }),
        ]
        for goodReads in [0, 3, 2000] {
            for (name, run) in pumps {
                XCTAssertThrowsError(try run(ScribblingSource(goodReads: goodReads)))
                let held = (0..<BodyBuffers.shared.waiting).map { _ in BodyBuffers.shared.take() }
                XCTAssertEqual(held.count, BodyBuffers.shared.keep)
                for buffer in held {
                    XCTAssertTrue(buffer.allSatisfy { $0 == 0 }, "\(name) left bytes after \(goodReads) reads")
                    BodyBuffers.shared.give(buffer, used: 0)
                }
            }
        }
    }

    /// A fresh buffer of the kept size is zeroed: whatever the heap held is not kept with it.
    func testFreshBuffersAreZeroed() {
        let pool = BodyBuffers(keep: 1)
        let dirty = UnsafeMutableRawBufferPointer.allocate(byteCount: BodyBuffers.size, alignment: 4096)
        dirty.initializeMemory(as: UInt8.self, repeating: 0x77)
        dirty.deallocate()
        let fresh = pool.take()
        XCTAssertTrue(fresh.allSatisfy { $0 == 0 })
        pool.give(fresh, used: 0)
    }

    /// Other sizes are plain allocations, never kept: the pool holds one size only.
    func testOtherSizesAreNotKept() {
        let pool = BodyBuffers(keep: 2)
        let small = pool.take(100)
        XCTAssertEqual(small.count, 100)
        let odd = pool.take(BodyBuffers.size + 1)
        XCTAssertEqual(Int(bitPattern: odd.baseAddress) % BodyBuffers.alignment, 0)
        pool.give(small, used: 100)
        pool.give(odd, used: 0)
        XCTAssertEqual(pool.waiting, 0)
    }

    /// No more than `keep` wait; the rest are freed, so a burst leaves a bounded amount behind.
    func testKeepsNoMoreThanItsBound() {
        let pool = BodyBuffers(keep: 2)
        let taken = (0..<5).map { _ in pool.take() }
        XCTAssertEqual(Set(taken.map(\.baseAddress)).count, 5, "buffers in use are distinct")
        for buffer in taken { pool.give(buffer, used: 0) }
        XCTAssertEqual(pool.waiting, 2)
    }

    /// With `wholeBuffers` the pump writes full buffers however short the reads (a zone's direct
    /// writes then need no staging copy); without, each read as it came.
    func testWholeBuffersGatherShortReads() throws {
        let body = (0..<(3 * pipelineBufferSize + 17)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let whole = Collector()
        XCTAssertEqual(try pump(StepSource(body, step: 70_000), into: whole, wholeBuffers: true), Int64(body.count))
        XCTAssertEqual(whole.bytes, body)
        XCTAssertEqual(whole.writes, 4)
        let asRead = Collector()
        _ = try pump(StepSource(body, step: 70_000), into: asRead)
        XCTAssertEqual(asRead.bytes, body)
        XCTAssertEqual(asRead.writes, (body.count + 69_999) / 70_000)
        // A failing source still fails, with nothing of the last partial buffer written.
        let failing = Collector()
        XCTAssertThrowsError(
            try pump(StepSource(body, step: 70_000, failAfter: 300_000), into: failing, wholeBuffers: true))
        XCTAssertEqual(failing.bytes.count, pipelineBufferSize)
    }

    /// The pumps put back what they took, whichever way they end.
    func testPumpsReturnTheirBuffers() throws {
        let body = (0..<(3 * pipelineBufferSize + 17)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let before = BodyBuffers.shared.waiting
        let sink = Collector()
        _ = try pump(StepSource(body, step: 70_000), into: sink, wholeBuffers: true)
        XCTAssertEqual(sink.bytes, body)
        _ = try pipelinedPump(StepSource(body + body, step: 70_000), into: Collector())
        XCTAssertThrowsError(try pipelinedPump(StepSource(body + body, step: 70_000), into: Collector(failAt: 100)))
        // Every buffer came back: the ring's four are all waiting (with any that waited before).
        XCTAssertEqual(BodyBuffers.shared.waiting, min(max(before, pipelineBuffers), BodyBuffers.shared.keep))
    }
}
