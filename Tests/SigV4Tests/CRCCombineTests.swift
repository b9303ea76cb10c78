import SigV4
import XCTest

/// crc(A·B) from crc(A), crc(B) and |B|: the combined CRC of the pieces must equal the CRC of
/// the whole, for every split, for each of the three CRCs S3 combines into FULL_OBJECT checksums.
final class CRCCombineTests: XCTestCase {
    static let crcs: [ChecksumAlgorithm] = [.crc32, .crc32c, .crc64nvme]

    func crc(_ a: ChecksumAlgorithm, _ bytes: ArraySlice<UInt8>) -> [UInt8] {
        let h = a.makeHasher()
        h.update(Array(bytes))
        return h.finalize()
    }

    // MARK: - "123456789" check values (CRC catalogue), split in two

    func testHalvesOfTheCheckStringCombineToTheCheckValue() {
        let check = Array("123456789".utf8)
        var a32 = CRC32()
        a32.update(Array(check[..<4]))
        var b32 = CRC32()
        b32.update(Array(check[4...]))
        XCTAssertEqual(CRC32.combine(a32.value, b32.value, lengthB: 5), 0xCBF4_3926)
        var a32c = CRC32C()
        a32c.update(Array(check[..<4]))
        var b32c = CRC32C()
        b32c.update(Array(check[4...]))
        XCTAssertEqual(CRC32C.combine(a32c.value, b32c.value, lengthB: 5), 0xE306_9283)
        var a64 = CRC64NVME()
        a64.update(Array(check[..<4]))
        var b64 = CRC64NVME()
        b64.update(Array(check[4...]))
        XCTAssertEqual(CRC64NVME.combine(a64.value, b64.value, lengthB: 5), 0xAE8B_1486_0A79_9888)
    }

    func testEverySplitPointAgreesWithTheWhole() {
        let data = (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 17) }
        for a in Self.crcs {
            let whole = crc(a, data[...])
            for cut in 0...data.count {
                let combined = a.combined([
                    (crc(a, data[..<cut]), Int64(cut)), (crc(a, data[cut...]), Int64(data.count - cut)),
                ])
                XCTAssertEqual(combined, whole, "\(a) cut at \(cut)")
            }
        }
    }

    /// Large pieces exercise the high bits of the length (8·1 MiB needs 23 doublings).
    func testManyPiecesOfUnevenSizesIncludingEmptyOnes() {
        let sizes = [1024 * 1024 + 3, 0, 1, 300_001, 0, 65_536]
        let data = (0..<sizes.reduce(0, +)).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 13) }
        for a in Self.crcs {
            var pieces: [(checksum: [UInt8], length: Int64)] = []
            var start = 0
            for n in sizes {
                pieces.append((crc(a, data[start..<(start + n)]), Int64(n)))
                start += n
            }
            XCTAssertEqual(a.combined(pieces), crc(a, data[...]), "\(a)")
            XCTAssertEqual(a.combined([]), crc(a, []), "no pieces is the CRC of nothing")
        }
    }

    func testDigestsDoNotCombineAndWrongWidthsAreRejected() {
        XCTAssertNil(ChecksumAlgorithm.sha256.combined([([1, 2, 3], 3)]))
        XCTAssertNil(ChecksumAlgorithm.sha1.combined([]))
        XCTAssertNil(ChecksumAlgorithm.crc32.combined([([0, 0, 0, 0, 0, 0, 0, 0], 4)]))
        XCTAssertNil(ChecksumAlgorithm.crc64nvme.combined([([0, 0, 0, 0], 4)]))
    }
}
