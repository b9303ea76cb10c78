/// Bucket names whose path-style addresses belong to the gateway's own APIs (`/admin/…`,
/// `/api/…`) and probes (`/metrics`, `/healthz`, `/readyz`): CreateBucket and a migration's
/// target names refuse them alike.
enum ReservedBucketNames {
    static let all: Set<String> = Set([AdminAPI.reservedBucketName, WebAPI.reservedBucketName])
        .union(S3Gateway.Probe.reservedBucketNames)

    static func contains(_ name: String) -> Bool { all.contains(name) }
}
