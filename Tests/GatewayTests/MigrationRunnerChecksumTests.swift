import Foundation
import GatewayCore
import GatewayTesting
import SigV4
import Synchronization
import XCTest

@testable import Gateway

/// Objects above the single-PUT limit whose ETag cannot be recomputed: their full-object checksum
/// is really checked before the multipart upload completes — a CRC by the gateway's Complete
/// (and kept with the copy), a SHA on the bytes' way — so "checksum-…" in a report is never a
/// claim nothing stands behind.
extension MigrationRunnerTests {
    func testALargeObjectsChecksumIsVerifiedBeforeItsUploadCompletes() throws {
        let big = Self.bytes((6 << 20) + 1, seed: 11)
        // A multipart ETag no part size reproduces: only the checksum can vouch for the bytes.
        let etag = "0123456789abcdef0123456789abcdef-2"
        var crc = CRC32()
        crc.update(big)
        let crcValue = base64Encode(crc.finalize())
        let shaValue = base64Encode(Digest.hash(.sha256, big))
        putSource("large", "crc", big, etag: etag, checksums: ["crc32": crcValue])
        putSource("large", "crc-wrong", big, etag: etag, checksums: ["crc32": "AAAAAA=="])
        putSource("large", "sha", big, etag: etag, checksums: ["sha256": shaValue])
        putSource(
            "large", "sha-wrong", big, etag: etag,
            checksums: ["sha256": base64Encode(Digest.hash(.sha256, Array("other".utf8)))])
        var options = MigrationRunner.Options()
        options.singlePutLimit = 6 << 20
        options.partSize = 5 << 20
        let events = Mutex<[String: String]>([:])
        let report = runner(try plan("fi"), options: options) { e in
            events.withLock { $0[e.key] = e.verification ?? e.reason }
        }.run()
        XCTAssertEqual(report.objectsCopied, 2, report.text)
        XCTAssertEqual(report.verification, ["checksum-crc32": 1, "checksum-sha256": 1])
        let seen = events.withLock { $0 }
        XCTAssertEqual(seen["crc"], "checksum-crc32")
        XCTAssertEqual(seen["sha"], "checksum-sha256")
        XCTAssertTrue(seen["crc-wrong"]?.contains("BadDigest") == true, "\(seen)")
        XCTAssertEqual(
            seen["sha-wrong"],
            "verification failed: the sha256 checksum of the bytes read is not the source's: the bytes changed on the way"
        )
        XCTAssertEqual(get("large", "crc").body.count, big.count)
        XCTAssertEqual(get("large", "sha").body.count, big.count)
        XCTAssertEqual(get("large", "crc-wrong").status, 404)
        XCTAssertEqual(get("large", "sha-wrong").status, 404)
        // The gateway keeps the CRC it verified, as the whole object's.
        XCTAssertEqual(try gw.metadata.object(bucket: "large", key: "crc")?.checksums["crc32"], crcValue)
        XCTAssertTrue(
            try gw.metadata.uploads(initiatedBefore: .infinity, limit: 10).isEmpty, "failed uploads are aborted")
    }
}
