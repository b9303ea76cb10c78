import GatewayCore
import GatewayTesting
import XCTest

/// The in-memory double answers the inventory calls as the real zones do, so residency tests
/// built on it see what a filesystem or provider zone would show.
final class InMemoryZoneInventoryTests: XCTestCase {
    func testListsPagesAndInspectsPerBackendBucket() throws {
        let zone = InMemoryZone(name: "zone-a", clock: FixedClock(1_700_000_000))
        try zone.createBucket("s3gw-b")
        try zone.createBucket("s3gw-a")
        var ids: [String] = []
        for size in 1...5 {
            let w = try zone.beginWrite(backendBucket: "s3gw-b", length: nil)
            try [UInt8](repeating: 1, count: size).withUnsafeBytes { try w.write($0) }
            ids.append(try w.commit())
        }
        let orphan = zone.plant([1, 2, 3], backendBucket: "s3gw-a")
        XCTAssertEqual(try zone.listBackendBuckets(), ["s3gw-a", "s3gw-b"])

        let first = try zone.listBlobs(backendBucket: "s3gw-b", after: "", limit: 3)
        let rest = try zone.listBlobs(backendBucket: "s3gw-b", after: first.last!.id, limit: 3)
        XCTAssertEqual((first + rest).map(\.id), ids.sorted())
        XCTAssertEqual(Set((first + rest).map(\.size)), [1, 2, 3, 4, 5])
        XCTAssertEqual(try zone.listBlobs(backendBucket: "s3gw-a", after: "", limit: 10).map(\.id), [orphan])
        XCTAssertEqual(try zone.listBlobs(backendBucket: "s3gw-none", after: "", limit: 10), [])

        XCTAssertEqual(
            try zone.blobInfo(backendBucket: "s3gw-a", blob: orphan),
            StoredBlob(id: orphan, size: 3, lastModified: 1_700_000_000))
        XCTAssertNil(try zone.blobInfo(backendBucket: "s3gw-b", blob: orphan), "another bucket's blob")
        try zone.deleteBlob(backendBucket: "s3gw-a", blob: orphan)
        XCTAssertNil(try zone.blobInfo(backendBucket: "s3gw-a", blob: orphan))

        zone.failing = true
        XCTAssertThrowsError(try zone.listBackendBuckets())
    }
}
