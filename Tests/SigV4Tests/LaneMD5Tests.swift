import Foundation
import MD5Lanes
import Synchronization
import XCTest

@testable import SigV4

final class LaneMD5Tests: XCTestCase {
    /// RFC 1321 appendix A.5, verbatim.
    func testRFC1321Suite() {
        let suite: [(String, String)] = [
            ("", "d41d8cd98f00b204e9800998ecf8427e"),
            ("a", "0cc175b9c0f1b6a831c399e269772661"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"),
            ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            ("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"),
            ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f"),
            (
                "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                "57edf4a22be3c955ac49da2e2107b67a"
            ),
        ]
        for (text, digest) in suite {
            var md5 = LaneMD5()
            Array(text.utf8).withUnsafeBytes { md5.update($0) }
            XCTAssertEqual(hexEncode(md5.finalize()), digest, text)
        }
    }

    /// Every padding edge (55/56/63/64 bytes mod 64), split at every kind of boundary, with the
    /// combiner on and off: the digest is OpenSSL's.
    func testLengthsAndSplitsMatchOpenSSL() {
        let lengths = [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 4095, 8192, 8193, 70_000, 200_003]
        for lanes in [true, false] {
            let combiner = MD5Combiner(lanes: lanes && MD5Combiner.cpuHasAVX512())
            for length in lengths {
                let bytes = randomBytes(length)
                let expected = hexEncode(Digest.hash(.md5, bytes))
                for split in [1, 7, 64, 100, 8192, 65_536, max(length, 1)] {
                    var md5 = LaneMD5(combiner: combiner)
                    var offset = 0
                    while offset < length {
                        let n = min(split, length - offset)
                        bytes.withUnsafeBytes {
                            md5.update(UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + n)]))
                        }
                        offset += n
                    }
                    XCTAssertEqual(
                        hexEncode(md5.finalize()), expected, "length \(length) split \(split) lanes \(lanes)")
                }
            }
        }
    }

    /// A finalized hash starts over.
    func testFinalizeStartsOver() {
        var md5 = LaneMD5()
        Array("abc".utf8).withUnsafeBytes { md5.update($0) }
        _ = md5.finalize()
        XCTAssertEqual(hexEncode(md5.finalize()), "d41d8cd98f00b204e9800998ecf8427e")
    }

    /// The kernel alone: sixteen lanes of different data give each lane's scalar digest words.
    func testSixteenLanesMatchScalar() throws {
        try XCTSkipUnless(MD5Combiner.cpuHasAVX512(), "this CPU has no AVX-512")
        let blocks = 5
        let data = (0..<MD5Combiner.lanes).map { _ in randomBytes(blocks * 64) }
        var words = [UInt32](repeating: 0, count: 4 * MD5Combiner.lanes)
        for l in 0..<MD5Combiner.lanes {
            let w = MD5Words()
            (words[l], words[16 + l], words[32 + l], words[48 + l]) = (w.a, w.b, w.c, w.d)
        }
        let buffers = data.map { d -> UnsafeMutableRawPointer in
            let p = UnsafeMutableRawPointer.allocate(byteCount: d.count + 1, alignment: 1)
            // Unaligned on purpose: request buffers may start anywhere.
            d.withUnsafeBytes { (p + 1).copyMemory(from: $0.baseAddress!, byteCount: d.count) }
            return p
        }
        defer { for buffer in buffers { buffer.deallocate() } }
        var inputs = buffers.map { UnsafeRawPointer($0 + 1) }
        words.withUnsafeMutableBufferPointer { w in
            inputs.withUnsafeMutableBufferPointer {
                MD5Lanes.run(state: w.baseAddress!, inputs: $0.baseAddress!, blocks: blocks)
            }
        }
        for l in 0..<MD5Combiner.lanes {
            var scalar = MD5Words()
            data[l].withUnsafeBytes { scalar.scalar($0.baseAddress!, count: blocks) }
            XCTAssertEqual(
                [words[l], words[16 + l], words[32 + l], words[48 + l]], [scalar.a, scalar.b, scalar.c, scalar.d])
            XCTAssertEqual(
                inputs[l], UnsafeRawPointer(buffers[l] + 1) + blocks * 64, "lane \(l) advanced past its blocks")
        }
    }

    /// Many threads hashing bodies of different lengths at once: every digest is right, and
    /// the vector lanes really were used (so this cannot pass by hashing scalar).
    func testConcurrentBodiesShareLanes() throws {
        try XCTSkipUnless(MD5Combiner.cpuHasAVX512(), "this CPU has no AVX-512")
        let combiner = MD5Combiner(lanes: true)
        let threads = 24
        let bodies = (0..<threads).map { t in randomBytes(300_000 + t * 9_001) }
        let expected = bodies.map { hexEncode(Digest.hash(.md5, $0)) }
        let results = Mutex([String](repeating: "", count: threads))
        // Real threads, not concurrentPerform: that runs no more at once than there are cores,
        // and the lanes need runs queued side by side.
        runThreads(threads) { t in
            var md5 = LaneMD5(combiner: combiner)
            let body = bodies[t]
            var offset = 0
            while offset < body.count {
                let n = min(32_768 + t * 64, body.count - offset)
                body.withUnsafeBytes { md5.update(UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + n)])) }
                offset += n
            }
            let digest = hexEncode(md5.finalize())
            results.withLock { $0[t] = digest }
        }
        XCTAssertEqual(results.withLock { $0 }, expected)
        XCTAssertGreaterThan(combiner.vectorPasses.load(ordering: .relaxed), 0)
    }

    /// Switched off, or on a CPU without AVX-512, nothing goes through the lanes.
    func testDisabledCombinerHashesScalar() {
        let combiner = MD5Combiner(lanes: MD5Combiner.cpuHasAVX512())
        combiner.setEnabled(false)
        XCTAssertFalse(combiner.isEnabled)
        let body = [UInt8](repeating: 7, count: 1 << 20)
        runThreads(8) { _ in
            var md5 = LaneMD5(combiner: combiner)
            body.withUnsafeBytes { md5.update($0) }
            XCTAssertEqual(md5.finalize(), Digest.hash(.md5, body))
        }
        XCTAssertEqual(combiner.vectorPasses.load(ordering: .relaxed), 0)
        XCTAssertFalse(MD5Combiner(lanes: false).isEnabled)
    }
}

/// Random bytes, fast enough for megabytes in a debug build.
private func randomBytes(_ count: Int) -> [UInt8] {
    var state = UInt64.random(in: 1...UInt64.max)
    var bytes = [UInt8](repeating: 0, count: count)
    bytes.withUnsafeMutableBytes { raw in
        for i in 0..<count {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            raw[i] = UInt8(truncatingIfNeeded: state)
        }
    }
    return bytes
}

/// Runs `body` on `count` threads of its own at once and waits for all of them.
private func runThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for t in 0..<count {
        group.enter()
        Thread {
            body(t)
            group.leave()
        }.start()
    }
    group.wait()
}
