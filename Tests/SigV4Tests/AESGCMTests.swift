import GatewayCore
import XCTest

@testable import SigV4

final class AESGCMTests: XCTestCase {
    // MARK: - McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)", test cases 13-16 (AES-256)
    // https://csrc.nist.gov/CSRC/media/Projects/Block-Cipher-Techniques/documents/BCM/proposed-modes/gcm/gcm-spec.pdf

    struct Vector {
        let name: String
        let key, iv, plain, aad, cipher, tag: String
    }

    let vectors = [
        Vector(
            name: "13", key: "0000000000000000000000000000000000000000000000000000000000000000",
            iv: "000000000000000000000000", plain: "", aad: "", cipher: "", tag: "530f8afbc74536b9a963b4f1c4cb738b"),
        Vector(
            name: "14", key: "0000000000000000000000000000000000000000000000000000000000000000",
            iv: "000000000000000000000000", plain: "00000000000000000000000000000000", aad: "",
            cipher: "cea7403d4d606b6e074ec5d3baf39d18", tag: "d0d1c8a799996bf0265b98b5d48ab919"),
        Vector(
            name: "15", key: "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
            iv: "cafebabefacedbaddecaf888",
            plain: "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
                + "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
            aad: "",
            cipher: "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
                + "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
            tag: "b094dac5d93471bdec1a502270e3cc6c"),
        Vector(
            name: "16", key: "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
            iv: "cafebabefacedbaddecaf888",
            plain: "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
                + "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
            aad: "feedfacedeadbeeffeedfacedeadbeefabaddad2",
            cipher: "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
                + "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
            tag: "76fc6ece0f4e1768cddf8853bb2d551b"),
    ]

    func testKnownAnswers() {
        for v in vectors {
            let c = SegmentCipher(key: hexDecode(v.key)!)
            let sealed = c.seal(hexDecode(v.plain)!, nonce: hexDecode(v.iv)!, aad: hexDecode(v.aad)!)
            XCTAssertEqual(hexEncode(sealed), v.cipher + v.tag, "test case \(v.name)")
            XCTAssertEqual(c.open(sealed, nonce: hexDecode(v.iv)!, aad: hexDecode(v.aad)!), hexDecode(v.plain)!)
        }
    }

    /// One context serves many messages, alternating directions, and one key set after another.
    func testContextReuseAndRekey() {
        let v = vectors[3]
        let c = SegmentCipher(key: randomBytes(32))
        _ = c.seal([1, 2, 3], nonce: randomBytes(12), aad: [])
        c.rekey(hexDecode(v.key)!)
        for _ in 0..<3 {
            let sealed = c.seal(hexDecode(v.plain)!, nonce: hexDecode(v.iv)!, aad: hexDecode(v.aad)!)
            XCTAssertEqual(hexEncode(sealed), v.cipher + v.tag)
            XCTAssertNil(c.open(sealed, nonce: hexDecode(v.iv)!, aad: []))  // a failed open leaves no state behind
            XCTAssertEqual(c.open(sealed, nonce: hexDecode(v.iv)!, aad: hexDecode(v.aad)!), hexDecode(v.plain)!)
        }
    }

    /// In place, on caller buffers (as the stream code uses it).
    func testInPlace() {
        let key = randomBytes(32)
        let nonce = randomBytes(12)
        let plain = randomBytes(1000)
        var buf = plain
        var tag = [UInt8](repeating: 0, count: 16)
        let c = SegmentCipher(key: key)
        buf.withUnsafeMutableBytes { b in
            tag.withUnsafeMutableBytes { t in
                nonce.withUnsafeBytes { n in
                    c.seal(UnsafeRawBufferPointer(b), into: b, tag: t, nonce: n, aad: .init(start: nil, count: 0))
                }
            }
        }
        XCTAssertEqual(buf + tag, SegmentCipher(key: key).seal(plain, nonce: nonce, aad: []))
        let ok = buf.withUnsafeMutableBytes { b in
            tag.withUnsafeBytes { t in
                nonce.withUnsafeBytes { n in
                    c.open(UnsafeRawBufferPointer(b), into: b, tag: t, nonce: n, aad: .init(start: nil, count: 0))
                }
            }
        }
        XCTAssertTrue(ok)
        XCTAssertEqual(buf, plain)
    }

    func testTamperFails() {
        let key = randomBytes(32)
        let nonce = randomBytes(12)
        let aad = Array("context".utf8)
        let c = SegmentCipher(key: key)
        let sealed = c.seal(Array("the plaintext here".utf8), nonce: nonce, aad: aad)
        for i in [0, 5, sealed.count - 16, sealed.count - 1] {  // ciphertext and tag bits
            var bad = sealed
            bad[i] ^= 0x01
            XCTAssertNil(c.open(bad, nonce: nonce, aad: aad), "flipped byte \(i)")
        }
        XCTAssertNil(c.open(sealed, nonce: randomBytes(12), aad: aad))
        XCTAssertNil(c.open(sealed, nonce: nonce, aad: aad + [0]))
        XCTAssertNil(c.open(Array(sealed.dropLast()), nonce: nonce, aad: aad))
        XCTAssertNil(SegmentCipher(key: randomBytes(32)).open(sealed, nonce: nonce, aad: aad))
        XCTAssertNotNil(c.open(sealed, nonce: nonce, aad: aad))
    }

    func testOneShotAndSecretBox() {
        let key = randomBytes(32)
        let a = AESGCM.seal([9, 9, 9], key: key, aad: [1])
        let b = AESGCM.seal([9, 9, 9], key: key, aad: [1])
        XCTAssertEqual(a.count, 12 + 3 + 16)
        XCTAssertNotEqual(a, b)  // a fresh nonce each time
        XCTAssertEqual(AESGCM.open(a, key: key, aad: [1]), [9, 9, 9])
        XCTAssertNil(AESGCM.open(a, key: key, aad: [2]))
        XCTAssertNil(AESGCM.open(Array(a.prefix(27)), key: key, aad: [1]))

        let box = SecretBox(keys: [MasterKey.generate()])
        let sealed = box.seal("s3cr3t", context: "AKID")
        XCTAssertTrue(sealed.hasPrefix("v1:\(box.current.id):"))
        XCTAssertEqual(box.open(sealed, context: "AKID"), "s3cr3t")
        XCTAssertNil(box.open(sealed, context: "OTHER"))
        XCTAssertEqual(box.open(box.seal("", context: "x"), context: "x"), "")
    }
}
