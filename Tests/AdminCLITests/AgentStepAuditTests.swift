import Foundation
import Gateway
import GatewayCore
import GatewayTesting
import Logging
import SigV4
import XCTest

@testable import s3gw

/// The agent's sweeps run as agent steps: what they record names the agent and the step, never
/// `system` (docs/OBSERVABILITY.md, "Who").
final class AgentStepAuditTests: XCTestCase {
    static let now: Double = 1_700_000_000
    static let secret: [UInt8] = Array(repeating: 7, count: 32)

    func testTheStrayZoneUploadSweepIsRecordedAsTheAgents() throws {
        let metadata = InMemoryMetadataStore()
        let backend = BackendBucketName.derive(secret: Self.secret, tenant: "alice", bucket: "photos", zone: "fi-1")
        _ = try metadata.createBucket(
            BucketRecord(
                name: "photos", owner: "alice", createdAt: Self.now, locationConstraint: "fi", zones: ["fi-1"],
                backendBucket: backend, namingKey: "alice"))
        // A provider-side upload nothing of the gateway's owns.
        let zone = InMemoryUploadsZone(
            name: "fi-1",
            uploads: [backend: [ZoneUpload(key: "blob", uploadId: "up", initiated: Self.now - 3600, handle: "blob up")]]
        )
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
