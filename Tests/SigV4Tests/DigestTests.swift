import XCTest

@testable import SigV4

final class DigestTests: XCTestCase {
    let abc = Array("abc".utf8)

    // MARK: - FIPS 180-2 / RFC 1321 known answers

    func testSHA256() {
        XCTAssertEqual(
            hexEncode(Digest.hash(.sha256, abc)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(hexEncode(Digest.hash(.sha256, [])), CanonicalRequest.emptySHA256)
        // The one-shot form the audit chain hashes with.
        XCTAssertEqual(sha256Hex(abc), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(sha256Hex([]), CanonicalRequest.emptySHA256)
        let big = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        XCTAssertEqual(sha256Hex(big), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testMD5AndSHA1() {
        XCTAssertEqual(hexEncode(Digest.hash(.md5, abc)), "900150983cd24fb0d6963f7d28e17f72")
        XCTAssertEqual(hexEncode(Digest.hash(.md5, [])), "d41d8cd98f00b204e9800998ecf8427e")
        XCTAssertEqual(hexEncode(Digest.hash(.sha1, abc)), "a9993e364706816aba3e25717850c26c9cd0d89d")
    }

    func testIncrementalAndCopyOnWrite() {
        var d = Digest(.sha256)
        d.update(Array("a".utf8))
        var copy = d  // value semantics: the copy continues independently
        d.update(Array("bc".utf8))
        copy.update(Array("x".utf8))
        XCTAssertEqual(hexEncode(d.finalize()), hexEncode(Digest.hash(.sha256, abc)))
        XCTAssertEqual(hexEncode(copy.finalize()), hexEncode(Digest.hash(.sha256, Array("ax".utf8))))
        // finalize resets, so the digest is reusable.
        d.update(abc)
        XCTAssertEqual(hexEncode(d.finalize()), hexEncode(Digest.hash(.sha256, abc)))
    }

    // MARK: - RFC 4231 test case 2, RFC 2202 test case 2

    func testHMAC() {
        let key = Array("Jefe".utf8)
        let data = Array("what do ya want for nothing?".utf8)
        XCTAssertEqual(
            hexEncode(HMAC.sha256(key: key, data: data)),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        XCTAssertEqual(hexEncode(HMAC.sha1(key: key, data: data)), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79")
        XCTAssertEqual(
            hexEncode(HMAC.sha256(key: [], data: [])),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad")
    }

    /// Keys longer than the 64-byte block are hashed first; a key of exactly 64 bytes is not
    /// (RFC 4231 case 6, RFC 2202 case 6, and a 64-byte key against OpenSSL's own HMAC result).
    func testHMACKeyLengths() {
        let long = Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8)
        XCTAssertEqual(
            hexEncode(HMAC.sha256(key: [UInt8](repeating: 0xaa, count: 131), data: long)),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
        XCTAssertEqual(
            hexEncode(HMAC.sha1(key: [UInt8](repeating: 0xaa, count: 80), data: long)),
            "aa4ae5e15272d00e95705637ce8a3b55ed402112")
        // RFC 4231 case 7: a long key and data of several blocks.
        let longData = Array(
            ("This is a test using a larger than block-size key and a larger than block-size data. "
                + "The key needs to be hashed before being used by the HMAC algorithm.").utf8)
        XCTAssertEqual(
            hexEncode(HMAC.sha256(key: [UInt8](repeating: 0xaa, count: 131), data: longData)),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2")
        // RFC 4231 case 1: a 20-byte key.
        XCTAssertEqual(
            hexEncode(HMAC.sha256(key: [UInt8](repeating: 0x0b, count: 20), data: Array("Hi There".utf8))),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        // RFC 4231 case 2 data with a 64-byte key of 0x0b, from `openssl dgst -sha256 -mac HMAC`.
        XCTAssertEqual(
            hexEncode(HMAC.sha256(key: [UInt8](repeating: 0x0b, count: 64), data: Array("Hi There".utf8))),
            "21cd586aeca0579d99a1c938127c92525a371f807bc5ba6eb78bc825bd4f2be3")
    }

    // MARK: - CRC check values ("123456789") from the CRC catalogue

    func testCRCCheckValues() {
        let check = Array("123456789".utf8)
        var c32 = CRC32()
        c32.update(check)
        XCTAssertEqual(c32.value, 0xCBF4_3926)
        var c32c = CRC32C()
        c32c.update(check)
        XCTAssertEqual(c32c.value, 0xE306_9283)
        var c64 = CRC64NVME()
        c64.update(check)
        XCTAssertEqual(c64.value, 0xAE8B_1486_0A79_9888)
        XCTAssertEqual(c64.finalize(), [0xAE, 0x8B, 0x14, 0x86, 0x0A, 0x79, 0x98, 0x88])
        var zeros = CRC64NVME()
        zeros.update([UInt8](repeating: 0, count: 32))
        XCTAssertEqual(zeros.value, 0xCF34_7343_4D4E_CF3B)
    }

    /// The header values S3 would send for the body "0123456789" (CLIENTS.md's trailer example).
    func testChecksumHeaderValues() {
        let body = Array("0123456789".utf8)
        func b64(_ a: ChecksumAlgorithm) -> String {
            let h = a.makeHasher()
            h.update(body)
            return base64Encode(h.finalize())
        }
        XCTAssertEqual(b64(.crc32), "poTHxg==")
        XCTAssertEqual(b64(.crc64nvme), "Ffmx7kz9nB0=")
        XCTAssertEqual(b64(.sha1), base64Encode(hexDecode("87acec17cd9dcd20a716cc2cf67417b71c8a7016")!))
        XCTAssertEqual(b64(.sha256), "hNiYd/DUBB77a/kaFvAkjy/Vc+avBcGflr7bn4gveII=")
    }

    /// Slicing-by-8 must agree with itself however the input is split.
    func testCRCSplitsAgree() {
        let data = (0..<10_007).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        for algorithm in [ChecksumAlgorithm.crc32, .crc32c, .crc64nvme] {
            let whole = algorithm.makeHasher()
            whole.update(data)
            let expected = whole.finalize()
            for split in [1, 3, 7, 8, 9, 4096] {
                let h = algorithm.makeHasher()
                var i = 0
                while i < data.count {
                    h.update(Array(data[i..<min(i + split, data.count)]))
                    i += split
                }
                XCTAssertEqual(h.finalize(), expected, "\(algorithm) split \(split)")
            }
        }
    }

    func testChecksumAlgorithmNames() {
        XCTAssertEqual(ChecksumAlgorithm.crc32.headerName, "x-amz-checksum-crc32")
        XCTAssertEqual(ChecksumAlgorithm(headerName: "X-Amz-Checksum-CRC64NVME"), .crc64nvme)
        XCTAssertNil(ChecksumAlgorithm(headerName: "x-amz-checksum-md5"))
        XCTAssertNil(ChecksumAlgorithm(headerName: "x-amz-meta-crc32"))
        XCTAssertEqual(ChecksumAlgorithm(algorithmName: "CRC32C"), .crc32c)
        XCTAssertEqual(ChecksumAlgorithm(algorithmName: "crc32"), .crc32)
        XCTAssertEqual(ChecksumAlgorithm(algorithmName: "SHA256"), .sha256)
        XCTAssertNil(ChecksumAlgorithm(algorithmName: "XXHASH64"))
        XCTAssertEqual(ChecksumAlgorithm.allCases.count, 5)
    }

    func testEncodingHelpers() {
        XCTAssertEqual(hexEncode([0x00, 0xab, 0xff]), "00abff")
        XCTAssertEqual(hexDecode("00ABff"), [0x00, 0xab, 0xff])
        XCTAssertNil(hexDecode("abc"))
        XCTAssertNil(hexDecode("zz"))
        XCTAssertEqual(base64Encode(Array("hello".utf8)), "aGVsbG8=")
        XCTAssertEqual(base64Decode("aGVsbG8="), Array("hello".utf8))
        XCTAssertNil(base64Decode("aGVsbG8"))
        XCTAssertNil(base64Decode("not base64!"))
        XCTAssertTrue(constantTimeEquals("abc", "abc"))
        XCTAssertTrue(constantTimeEquals("", ""))
        XCTAssertFalse(constantTimeEquals("abc", "abd"))
        XCTAssertFalse(constantTimeEquals("abc", "abcd"))
    }

    /// Not a benchmark, a guard: slicing-by-8 in a debug build still does well over 20 MB/s;
    /// a bytewise regression in release would show up in the e2e throughput numbers.
    func testCRCHandlesLargeInput() {
        let data = [UInt8](repeating: 0x5a, count: 8 << 20)
        let h = ChecksumAlgorithm.crc32c.makeHasher()
        data.withUnsafeBytes { h.update($0) }
        XCTAssertEqual(h.finalize().count, 4)
    }
}
