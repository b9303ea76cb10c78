import Foundation
import Gateway
import GatewayCore
import GatewayTesting
import Logging
import SigV4
import Synchronization
import XCTest

@testable import s3gw

/// The agent's sweeps run as agent steps: what they record names the agent and the step, never
/// `system` (docs/OBSERVABILITY.md, "Who").
final class AgentStepAuditTests: XCTestCase {
    static let now: Double = 1_700_000_000
    static let secret: [UInt8] = Array(repeating: 7, count: 32)

    /// A zone holding one provider-side upload nothing of the gateway's owns.
    final class StrayUploadZone: StorageZone {
        let inner = InMemoryZone(name: "fi-1")
        let backend: String
        let uploads: Mutex<[ZoneUpload]>
        var name: String { inner.name }

        init(backend: String) {
            self.backend = backend
            uploads = Mutex([
                ZoneUpload(key: "blob", uploadId: "up", initiated: AgentStepAuditTests.now - 3600, handle: "blob up")
            ])
        }

        func createBucket(_ b: String) throws(StoreError) { try inner.createBucket(b) }
        func deleteBucket(_ b: String) throws(StoreError) { try inner.deleteBucket(b) }
        func beginWrite(backendBucket: String, length: Int64?) throws(StoreError) -> any BlobWriter {
            try inner.beginWrite(backendBucket: backendBucket, length: length)
        }
        func open(backendBucket: String, blob: String, offset: Int64, length: Int64?) throws(StoreError)
            -> any BlobReader
        {
            try inner.open(backendBucket: backendBucket, blob: blob, offset: offset, length: length)
        }
        func deleteBlob(backendBucket: String, blob: String) throws(StoreError) {
            try inner.deleteBlob(backendBucket: backendBucket, blob: blob)
        }
        func probe() throws(StoreError) -> Double { 0 }
        func listBlobs(backendBucket: String, after: String, limit: Int) throws(StoreError) -> [StoredBlob] { [] }
        func blobInfo(backendBucket: String, blob: String) throws(StoreError) -> StoredBlob? { nil }
        func listBackendBuckets() throws(StoreError) -> [String] { [backend] }
        func listZoneUploads(backendBucket: String) throws(StoreError) -> [ZoneUpload] {
            backendBucket == backend ? uploads.withLock { $0 } : []
        }
        func abortMultipart(backendBucket: String, multipart: String) throws(StoreError) {
            uploads.withLock { $0.removeAll { $0.handle == multipart } }
        }
    }

    func testTheStrayZoneUploadSweepIsRecordedAsTheAgents() throws {
        let metadata = InMemoryMetadataStore()
        let backend = BackendBucketName.derive(secret: Self.secret, tenant: "alice", bucket: "photos", zone: "fi-1")
        _ = try metadata.createBucket(
            BucketRecord(
                name: "photos", owner: "alice", createdAt: Self.now, locationConstraint: "fi", zones: ["fi-1"],
                backendBucket: backend, namingKey: "alice"))
        let zone = StrayUploadZone(backend: backend)
        let identities = InMemoryIdentityStore(metadata: metadata)
        let box = SecretBox(keys: [MasterKey(bytes: Array(repeating: 9, count: 32))!])
        let ctx = GatewayContext(
            metadata: metadata, zones: ["fi-1": zone],
            catalog: ZoneCatalog(
                zones: [ZoneCatalog.Zone(name: "fi-1", country: "fi", region: "fi-hel")], defaultZone: "fi-1"),
            identities: Identities(store: identities, secretBox: box, clock: FixedClock(Self.now), ttl: 0),
            clock: FixedClock(Self.now), installationSecret: Self.secret, logger: Logger(label: "test"))

        XCTAssertEqual(try Agent.sweepStrayZoneUploads(olderThan: Self.now - 60, ctx), 1)

        let records = try metadata.auditRecords(AuditQuery(change: "zone.uploads-swept"))
        XCTAssertEqual(records.count, 1)
        XCTAssertEqual(records.first?.origin, "agent")
        XCTAssertEqual(records.first?.operation, "SweepZoneUploads")
        XCTAssertEqual(records.first?.detail, #"{"count":1,"zones":["fi-1"]}"#)
    }
}
