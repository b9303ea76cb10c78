import GatewayCore

/// AssumeRole without IAM roles: a "role" is a user of the caller's own tenant, named
/// `arn:aws:iam::<tenant>:role/<user name>`. The session acts as that user (its permissions,
/// narrowed by the session policy) and is revoked with the caller's key.
extension STS {
    /// What a RoleArn names.
    struct Role: Equatable {
        let tenant: String
        let user: String
    }

    static func role(_ arn: String) -> Role? {
        let prefix = "arn:aws:iam::"
        guard arn.hasPrefix(prefix) else { return nil }
        let rest = arn.dropFirst(prefix.count)
        guard let colon = rest.firstIndex(of: ":") else { return nil }
        let tenant = String(rest[..<colon])
        let resource = rest[rest.index(after: colon)...]
        guard resource.hasPrefix("role/") else { return nil }
        let user = String(resource.dropFirst("role/".count))
        guard TenantRecord.isValidID(tenant), UserRecord.isValidName(user) else { return nil }
        return Role(tenant: tenant, user: user)
    }

    /// IAM's RoleSessionName: 2 to 64 of `[\w+=,.@-]`.
    static func isValidSessionName(_ s: String) -> Bool {
        (2...64).contains(s.utf8.count) && UserRecord.isValidName(s)
    }

    /// Who may assume a user: a caller holding `sts:AssumeRole` on a pattern matching the
    /// user's name (`"sts:AssumeRole": ["reader", "ci-*"]`), and a user itself when it may
    /// already call GetSessionToken (a session of oneself grants nothing that would not).
    static func mayAssume(_ caller: Principal, _ role: Role) -> Bool {
        guard role.tenant == caller.tenant else { return false }
        if caller.allows("sts:AssumeRole", on: .bucket(role.user)) { return true }
        return role.user == caller.user.name && caller.allows("sts:GetSessionToken", on: .bucket(role.user))
    }

    static func assumeRole(_ r: STSRequest, _ ctx: GatewayContext) throws -> String {
        let caller = r.principal
        try refuseSession(caller, "AssumeRole")
        try r.refuse([
            "PolicyArns", "Tags", "TransitiveTagKeys", "SerialNumber", "TokenCode", "SourceIdentity",
            "ProvidedContexts",
        ])
        let arn = try r.required("RoleArn", member: "roleArn")
        let sessionName = try r.required("RoleSessionName", member: "roleSessionName")
        guard isValidSessionName(sessionName) else {
            throw S3Error(
                .validationError,
                "1 validation error detected: Value '\(sessionName)' at 'roleSessionName' failed to satisfy constraint: Member must have length between 2 and 64 and satisfy regular expression pattern: [\\w+=,.@-]*"
            )
        }
        guard let role = role(arn) else {
            throw S3Error(
                .validationError, "\(arn) is not a role ARN of this gateway: arn:aws:iam::<tenant>:role/<user>")
        }
        let duration = try duration(r, ctx)
        let policy = try policy(r)
        // A user that does not exist is refused like one the caller may not assume, so the
        // answer tells nothing about another user's existence.
        guard mayAssume(caller, role), let target = try ctx.identities.store.user(tenant: role.tenant, name: role.user)
        else { throw notAuthorized(caller, "sts:AssumeRole", resource: arn) }
        let issued = try SessionIssuer.issue(
            user: target, parentKey: caller.accessKey, duration: duration, policy: policy, now: r.now, ctx)
        return Response.assumeRole(
            issued,
            user: Response.AssumedRoleUser(
                id: "AROA" + target.id.prefix(17).uppercased() + ":" + sessionName,
                arn: "arn:aws:sts::\(target.tenant):assumed-role/\(target.name)/\(sessionName)"),
            policySize: policy.map { $0.utf8.count * 100 / SessionPolicyParser.maxLength },
            requestId: r.requestId)
    }
}
