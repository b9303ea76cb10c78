import GatewayCore
import GatewayTesting
import SigV4
import XCTest

@testable import Gateway

/// The two-stage copy of large bodies (read and hash here, write on a helper thread): the same
/// bytes and digests as the plain copy at every size around the buffer boundaries, and either
/// stage's failure surfacing as that failure with the helper gone and nothing written after.
final class PipelinedPumpTests: XCTestCase {
    let size = 4096

    /// Hands out at most `step` bytes per read (aws-chunked decoding returns short reads), then
    /// optionally fails after `failAfter` bytes.
    final class StepSource: ByteSource {
        let bytes: [UInt8]
        let step: Int
        let failAfter: Int?
        private(set) var offset = 0
        init(_ bytes: [UInt8], step: Int, failAfter: Int? = nil) {
            self.bytes = bytes
            self.step = step
            self.failAfter = failAfter
        }
        func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            if let failAfter, offset >= failAfter { throw S3Error(.incompleteBody) }
            let n = min(step, buffer.count, bytes.count - offset)
            bytes.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: n) }
            offset += n
            return n
        }
    }

    /// Collects what it is given; fails at the write that would take it past `failAt` bytes.
    final class Collector: ByteSink, @unchecked Sendable {
        var bytes: [UInt8] = []
        var writes = 0
        let failAt: Int?
        init(failAt: Int? = nil) { self.failAt = failAt }
        func write(_ b: UnsafeRawBufferPointer) throws {
            if let failAt, bytes.count + b.count > failAt { throw StoreError.zoneUnavailable("disk gone") }
            bytes.append(contentsOf: b)
            writes += 1
        }
    }

    func body(_ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) } }

    func testBytesAndCountMatchThePlainCopyAroundBufferBoundaries() throws {
        for n in [0, 1, size - 1, size, size + 1, 2 * size, 3 * size + 7, 10 * size] {
            for step in [1000, size, 3 * size] {
                let bytes = body(n)
                let sink = Collector()
                let count = try pipelinedPump(StepSource(bytes, step: step), into: sink, bufferSize: size, buffers: 3)
                XCTAssertEqual(count, Int64(n), "size \(n), step \(step)")
                XCTAssertEqual(sink.bytes, bytes, "size \(n), step \(step)")
                XCTAssertEqual(WriteStage.running.load(ordering: .relaxed), 0, "no helper left running")
            }
        }
    }

    func testABodyThatFitsTheRingTakesNoHelperThread() throws {
        for n in [1, size - 1, 3 * size - 1] {
            let sink = Collector()
            let thread = Thread.current
            final class Spy: ByteSink {
                let inner: Collector
                let thread: Thread
                var elsewhere = false
                init(_ inner: Collector, _ thread: Thread) {
                    self.inner = inner
                    self.thread = thread
                }
                func write(_ b: UnsafeRawBufferPointer) throws {
                    if Thread.current != thread { elsewhere = true }
                    try inner.write(b)
                }
            }
            let spy = Spy(sink, thread)
            try pipelinedPump(StepSource(body(n), step: 100), into: spy, bufferSize: size, buffers: 3)
            XCTAssertFalse(spy.elsewhere, "written from the request thread")
            XCTAssertEqual(sink.bytes, body(n))
        }
    }

    func testTheDigestsOfAVerifiedBodyMatchThePlainCopy() throws {
        let bytes = body(5 * size + 3)
        func verified() throws -> VerifiedBody {
            let crc = ChecksumAlgorithm.crc32c.makeHasher()
            bytes.withUnsafeBytes { crc.update($0) }
            let head = RequestHead(
                method: "PUT", rawURI: "/b/k", headers: [("x-amz-checksum-crc32c", base64Encode(crc.finalize()))])
            let auth = AuthContext(accessKey: "", method: .anonymous, payload: .unsigned)
            return try VerifiedBody(source: MemorySource(bytes), head: head, auth: auth)
        }
        let plain = try verified()
        let plainSink = Collector()
        try pump(plain, into: plainSink)
        let piped = try verified()
        let pipedSink = Collector()
        try pipelinedPump(piped, into: pipedSink, bufferSize: size, buffers: 2)
        XCTAssertEqual(pipedSink.bytes, plainSink.bytes)
        XCTAssertEqual(piped.md5Hex, plain.md5Hex)
        XCTAssertEqual(piped.md5Hex, hexEncode(Digest.hash(.md5, bytes)))
        XCTAssertEqual(piped.checksums, plain.checksums)
    }

    func testASourceFailureSurfacesAndStopsTheWriter() {
        let sink = Collector()
        let source = StepSource(body(10 * size), step: size, failAfter: 4 * size)
        XCTAssertThrowsError(try pipelinedPump(source, into: sink, bufferSize: size, buffers: 3)) { error in
            XCTAssertEqual((error as? S3Error)?.code, .incompleteBody)
        }
        XCTAssertEqual(WriteStage.running.load(ordering: .relaxed), 0)
        let written = sink.bytes.count
        XCTAssertLessThanOrEqual(written, 4 * size)
        usleep(20_000)
        XCTAssertEqual(sink.bytes.count, written, "nothing written once the pump returned")
    }

    func testASinkFailureSurfacesAndStopsTheReader() {
        let source = StepSource(body(100 * size), step: size)
        XCTAssertThrowsError(try pipelinedPump(source, into: Collector(failAt: 2 * size), bufferSize: size, buffers: 3))
        { error in
            XCTAssertEqual(error as? StoreError, .zoneUnavailable("disk gone"))
        }
        XCTAssertEqual(WriteStage.running.load(ordering: .relaxed), 0)
        XCTAssertLessThan(source.offset, 10 * size, "the reader stopped soon after the writer failed")
    }

    // Through the handler: the pipelined path (bodies past the ring's size) keeps PUT's guarantees.

    func testALargePutStoresItsBytesAndItsETag() throws {
        let gw = TestGateway()
        XCTAssertEqual(gw.send("PUT", "/big").status, 200)
        let bytes = body(pipelineBuffers * pipelineBufferSize + 5)
        let started = WriteStage.started.load(ordering: .relaxed)
        let r = gw.send("PUT", "/big/k", body: bytes)
        XCTAssertEqual(r.status, 200, r.text)
        XCTAssertEqual(WriteStage.started.load(ordering: .relaxed), started + 1, "the pipelined path")
        XCTAssertEqual(gw.send("PUT", "/big/small", body: body(pipelineBufferSize)).status, 200)
        XCTAssertEqual(WriteStage.started.load(ordering: .relaxed), started + 1, "a small body: the plain path")
        XCTAssertEqual(r.header("ETag"), "\"\(hexEncode(Digest.hash(.md5, bytes)))\"")
        XCTAssertEqual(gw.send("GET", "/big/k").body, bytes)
        XCTAssertEqual(WriteStage.running.load(ordering: .relaxed), 0)
    }

    func testALargePutWithAWrongContentMD5StoresNothing() {
        let gw = TestGateway()
        XCTAssertEqual(gw.send("PUT", "/big").status, 200)
        let bytes = body(pipelineBuffers * pipelineBufferSize + 1)
        let wrong = base64Encode(Digest.hash(.md5, [1]))
        let r = gw.send("PUT", "/big/k", body: bytes, headers: [("Content-MD5", wrong)])
        XCTAssertEqual(r.errorCode, "BadDigest", r.text)
        XCTAssertEqual(gw.zone.blobCount, 0, "no blob")
        XCTAssertEqual(gw.send("HEAD", "/big/k").status, 404, "no object")
        XCTAssertEqual(WriteStage.running.load(ordering: .relaxed), 0)
    }

    func testALargePutToAFailingZoneStoresNothing() {
        let gw = TestGateway()
        XCTAssertEqual(gw.send("PUT", "/big").status, 200)
        // The zone fails once the write began: the helper's error reaches the client.
        let bytes = body((pipelineBuffers + 2) * pipelineBufferSize)
        let failing = FailingZoneSource(MemorySource(bytes), zone: gw.zone, after: pipelineBufferSize + 1)
        let r = gw.send("PUT", "/big/k", body: bytes, bodySource: failing)
        XCTAssertEqual(r.status, 503, r.text)
        gw.zone.failing = false
        XCTAssertEqual(gw.zone.blobCount, 0, "no blob")
        XCTAssertEqual(gw.send("HEAD", "/big/k").status, 404, "no object")
        XCTAssertEqual(WriteStage.running.load(ordering: .relaxed), 0)
    }

    /// Sets the zone failing once `after` bytes were read.
    final class FailingZoneSource: ByteSource {
        let inner: any ByteSource
        let zone: InMemoryZone
        let after: Int
        var read = 0
        init(_ inner: any ByteSource, zone: InMemoryZone, after: Int) {
            self.inner = inner
            self.zone = zone
            self.after = after
        }
        func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            let n = try inner.read(into: buffer)
            read += n
            if read >= after { zone.failing = true }
            return n
        }
    }
}
