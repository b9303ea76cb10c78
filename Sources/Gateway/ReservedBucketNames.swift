/// Bucket names whose path-style addresses belong to the gateway's own APIs (`/admin/…`,
/// `/api/…`): CreateBucket and a migration's target names refuse them alike.
enum ReservedBucketNames {
    static let all: Set<String> = [AdminAPI.reservedBucketName, WebAPI.reservedBucketName]

    static func contains(_ name: String) -> Bool { all.contains(name) }
}
