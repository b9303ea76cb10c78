import GatewayCore

extension STS {
    /// The answer document of one call; errors are thrown as the table's codes.
    static func dispatch(_ r: STSRequest, _ ctx: GatewayContext) throws -> String {
        switch r.action {
        case "GetSessionToken": return try getSessionToken(r, ctx)
        case "AssumeRole": return try assumeRole(r, ctx)
        default:
            throw S3Error(.invalidAction, "Could not find operation \(r.action) for version \(version)")
        }
    }

    /// Sessions cannot ask for sessions: every session hangs off one permanent key, so revoking
    /// that key revokes all of them in one step (AWS refuses GetSessionToken with session
    /// credentials too; role chaining is not offered).
    static func refuseSession(_ p: Principal, _ action: String) throws(S3Error) {
        if p.session != nil {
            throw S3Error(.accessDenied, "Cannot call \(action) with session credentials")
        }
    }

    /// DurationSeconds: `[sts] min_duration_seconds` (900 unless a test lowers it) to 43200.
    static func duration(_ r: STSRequest, _ ctx: GatewayContext) throws(S3Error) -> Int {
        guard let text = r.param("DurationSeconds") else { return ctx.sts.defaultDuration }
        guard let d = Int(text) else {
            throw S3Error(
                .validationError,
                "1 validation error detected: Value '\(text)' at 'durationSeconds' failed to satisfy constraint: Member must be an integer"
            )
        }
        if d < ctx.sts.minDuration {
            throw S3Error(
                .validationError,
                "1 validation error detected: Value '\(d)' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to \(ctx.sts.minDuration)"
            )
        }
        if d > ctx.sts.maxDuration {
            throw S3Error(
                .validationError,
                "1 validation error detected: Value '\(d)' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to \(ctx.sts.maxDuration)"
            )
        }
        return d
    }

    /// The optional session policy, kept as the text it parsed from (the credential lookup
    /// parses it again); a policy the gateway cannot evaluate is refused with the reason.
    static func policy(_ r: STSRequest) throws(S3Error) -> String? {
        guard let text = r.param("Policy") else { return nil }
        if case .failure(let f) = SessionPolicyParser.parse(text) {
            throw S3Error(.malformedPolicyDocument, "The policy is not valid: \(f.reason)")
        }
        return text
    }

    static func getSessionToken(_ r: STSRequest, _ ctx: GatewayContext) throws -> String {
        let caller = r.principal
        try refuseSession(caller, "GetSessionToken")
        try r.refuse(["SerialNumber", "TokenCode"])
        let duration = try duration(r, ctx)
        // Not a GetSessionToken parameter at AWS (whose sessions cannot be narrowed); accepted
        // here because a session policy only ever takes permissions away.
        let policy = try policy(r)
        // The resource of sts: permissions is a user name of the caller's tenant: here its own.
        guard caller.allows("sts:GetSessionToken", on: .bucket(caller.user.name)) else {
            throw notAuthorized(caller, "sts:GetSessionToken", resource: userArn(caller.tenant, caller.user.name))
        }
        let issued = try SessionIssuer.issue(
            user: caller.user, parentKey: caller.accessKey, duration: duration, policy: policy, now: r.now, ctx)
        return Response.getSessionToken(issued, requestId: r.requestId)
    }

    static func userArn(_ tenant: String, _ user: String) -> String { "arn:aws:iam::\(tenant):user/\(user)" }

    /// AWS's AccessDenied wording, naming the caller and what it may not do (never a secret).
    static func notAuthorized(_ p: Principal, _ action: String, resource: String) -> S3Error {
        S3Error(
            .accessDenied,
            "User: \(userArn(p.tenant, p.user.name)) is not authorized to perform: \(action) on resource: \(resource)")
    }
}
