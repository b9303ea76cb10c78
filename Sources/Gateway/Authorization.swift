import GatewayCore

/// The one place a permission is required: S3 handlers, STS and the admin API all call it.
enum Authorization {
    static func require(_ p: Principal?, _ action: String, _ resource: PermissionSet.Resource) throws(S3Error) {
        guard let p, p.allows(action, on: resource) else { throw S3Error(.accessDenied) }
    }
}
