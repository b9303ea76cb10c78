import Gateway
import GatewayCore
import GatewayTesting
import Logging
import SigV4
import Synchronization
import XCTest

/// The sweep of zone-side multipart uploads no gateway upload owns (a provider carried out a
/// CreateMultipartUpload after the client's request had timed out): only old ones no gateway
/// upload owns, in backend buckets of this installation's buckets, go.
final class StrayZoneUploadTests: XCTestCase {
    static let now: Double = 1_700_000_000
    static let secret: [UInt8] = Array(repeating: 7, count: 32)

    static func upload(_ key: String, _ id: String, initiated: Double?) -> ZoneUpload {
        ZoneUpload(key: key, uploadId: id, initiated: initiated, handle: key + " " + id)
    }

    func testOnlyOldUploadsNoGatewayUploadOwnsAreAborted() throws {
        let metadata = InMemoryMetadataStore()
        let backend = BackendBucketName.derive(secret: Self.secret, tenant: "alice", bucket: "photos", zone: "fi-1")
        // The same bucket's backend bucket in another zone: an owned handle there is not owned here.
        let elsewhere = BackendBucketName.derive(secret: Self.secret, tenant: "alice", bucket: "photos", zone: "fi-2")
        _ = try metadata.createBucket(
            BucketRecord(
                name: "photos", owner: "alice", createdAt: Self.now, locationConstraint: "fi",
                zones: ["fi-1", "fi-2", "fi-3"],
                backendBucket: backend, namingKey: "alice"))
        try metadata.createUpload(
            UploadRecord(
                uploadId: "gw-1", bucket: "photos", key: "a.jpg", initiated: Self.now - 7200,
                contentType: "image/jpeg", headers: [], checksumAlgorithm: "", zone: "fi-1",
                zoneUpload: "blob-owned up-owned"))
        let old = Self.now - 3600
        let zone = InMemoryUploadsZone(
            name: "fi-1",
            uploads: [
                backend: [
                    Self.upload("blob-owned", "up-owned", initiated: old),  // a client's open upload
                    Self.upload("blob-stray", "up-stray", initiated: old),  // its create timed out
                    Self.upload("blob-new", "up-new", initiated: Self.now - 10),  // may be a write under way
                    Self.upload("blob-undated", "up-undated", initiated: nil),
                ],
                // No tenant bucket maps here: perhaps another installation's, sharing the account.
                "s3gw-00000000000000000000000000000000": [Self.upload("blob-other", "up-other", initiated: old)],
            ])
        let other = InMemoryUploadsZone(
            name: "fi-2", uploads: [elsewhere: [Self.upload("blob-owned", "up-owned", initiated: old)]])
        let third = BackendBucketName.derive(secret: Self.secret, tenant: "alice", bucket: "photos", zone: "fi-3")
        let hung = InMemoryUploadsZone(
            name: "fi-3", uploads: [third: [Self.upload("x", "y", initiated: old)]], listable: false)
        let ctx = GatewayContext(
            metadata: metadata, zones: ["fi-1": zone, "fi-2": other, "fi-3": hung],
            catalog: ZoneCatalog(
                zones: ["fi-1", "fi-2", "fi-3"].map { ZoneCatalog.Zone(name: $0, country: "fi", region: "fi-hel") },
                defaultZone: "fi-1"),
            identities: TestGateway.identities(metadata).1, clock: FixedClock(Self.now),
            installationSecret: Self.secret, logger: Logger(label: "test"))

        let n = try Maintenance.abortStrayZoneUploads(olderThan: Self.now - 60, ctx)

        XCTAssertEqual(n, 2)
        XCTAssertEqual(zone.aborted.withLock { $0 }, [backend + " blob-stray up-stray"])
        XCTAssertEqual(other.aborted.withLock { $0 }, [elsewhere + " blob-owned up-owned"])
        XCTAssertEqual(hung.aborted.withLock { $0 }, [])  // skipped, not failing the sweep
        XCTAssertEqual(
            zone.uploads.withLock { $0[backend]?.map(\.uploadId) }, ["up-owned", "up-new", "up-undated"])
        // The gateway's own upload is untouched.
        XCTAssertEqual(
            try metadata.uploads(bucket: "photos", prefix: "", keyMarker: "", uploadIdMarker: "", limit: 10).map(
                \.uploadId), ["gw-1"])
        // A second sweep finds nothing more to do.
        XCTAssertEqual(try Maintenance.abortStrayZoneUploads(olderThan: Self.now - 60, ctx), 0)
    }

    func testZonesWithoutZoneSideUploadsHaveNone() throws {
        XCTAssertEqual(try InMemoryZone(name: "z").listZoneUploads(backendBucket: "s3gw-x"), [])
    }
}
