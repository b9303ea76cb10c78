import Foundation
import GatewayCore
import GatewayTesting
import MetadataSQL

/// The store tests' fixture: a temporary directory, and a SQLite store in it beside the
/// in-memory double, each holding `bucket`, so one test checks both behave the same.
struct TwoStores {
    let dir: String

    /// A new directory named `s3gw-<prefix>-<uuid>` under the system's temporary one.
    init(_ prefix: String) throws {
        dir = NSTemporaryDirectory() + "s3gw-\(prefix)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    func stores(with bucket: BucketRecord) throws -> [any MetadataStore] {
        let stores: [any MetadataStore] = [try sqlStore(dir: dir), InMemoryMetadataStore()]
        for s in stores { _ = try s.createBucket(bucket) }
        return stores
    }

    /// A bucket placed in Sweden and Finland with two copies of each object: every write queues
    /// a replication job.
    static let replicated = BucketRecord(
        name: "b", owner: "o", createdAt: 1, locationConstraint: "se,fi", zones: ["se-1", "fi-1"],
        backendBucket: "s3gw-se", replicaCount: 2)

    func remove() { try? FileManager.default.removeItem(atPath: dir) }
}
