import GatewayCore

extension AdminAPI {
    /// `/admin` and everything under it belongs to the admin API when addressed path-style
    /// (CreateBucket refuses the name `admin`); a virtual-hosted request for a key `admin/…` is
    /// an S3 request on that bucket.
    public static func owns(_ rawPath: String, virtualHosted: Bool) -> Bool {
        !virtualHosted && (rawPath == "/admin" || rawPath.hasPrefix("/admin/") || rawPath.hasPrefix("/admin?"))
    }

    /// The bucket name the admin API's path shadows.
    public static let reservedBucketName = "admin"

    /// Admin bodies are small JSON documents.
    static let maxBody = 1 << 20
}
