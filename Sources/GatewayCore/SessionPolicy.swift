/// A session policy (the `Policy` of GetSessionToken/AssumeRole): IAM statements that can only
/// narrow what the user's permissions allow. Evaluated as IAM does: an explicit Deny wins, then
/// an Allow must match; nothing matching is a deny.
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session
public struct SessionPolicy: Sendable, Equatable {
    public struct Statement: Sendable, Equatable {
        public var allow: Bool
        /// Action globs (`s3:Get*`), compared case-insensitively.
        public var actions: [String]
        /// ARN globs: `arn:aws:s3:::bucket`, `arn:aws:s3:::bucket/key*`, `*`.
        public var resources: [String]
        public init(allow: Bool, actions: [String], resources: [String]) {
            self.allow = allow
            self.actions = actions
            self.resources = resources
        }
    }

    public var statements: [Statement]
    public init(statements: [Statement]) { self.statements = statements }

    public func allows(_ action: String, on resource: PermissionSet.Resource) -> Bool {
        let arn = Self.arn(resource)
        let a = action.lowercased()
        func matches(_ s: Statement) -> Bool {
            s.actions.contains { PermissionSet.globMatch($0.lowercased(), a) }
                && s.resources.contains { PermissionSet.globMatch($0, arn) }
        }
        if statements.contains(where: { !$0.allow && matches($0) }) { return false }
        return statements.contains { $0.allow && matches($0) }
    }

    /// The ARN IAM names the resource by; admin resources only match `*`.
    static func arn(_ r: PermissionSet.Resource) -> String {
        switch r {
        case .bucket(let b), .listing(let b, _): "arn:aws:s3:::" + b
        case .object(let b, let k): "arn:aws:s3:::" + b + "/" + k
        case .tenant(let t): "arn:s3gw:admin:::tenant/" + t
        case .gateway: "arn:s3gw:admin:::gateway"
        }
    }
}
