import GatewayCore

/// Users and their credentials inside a tenant:
/// `GET/POST /admin/tenants/{tenant}/users`, `GET/PATCH/DELETE …/users/{user}`,
/// `GET/POST …/users/{user}/credentials`, `GET/PATCH/DELETE …/credentials/{key}`,
/// `POST …/credentials/{key}/rotate`. Secrets appear once, in the answer that creates them.
extension AdminAPI {
    public struct UserView: Codable, Sendable {
        public var tenant: String
        public var name: String
        /// The canonical id shown as Owner ID.
        public var id: String
        public var permissions: [String: [String]]
        public var createdAt: String

        init(_ u: UserRecord) {
            tenant = u.tenant
            name = u.name
            id = u.id
            permissions = u.permissions.rules
            createdAt = HTTPDate.iso8601(u.createdAt)
        }
    }

    public struct CreateUser: Codable, Sendable {
        public var name: String
        public var permissions: [String: [String]]?
    }

    public struct UpdateUser: Codable, Sendable {
        public var permissions: [String: [String]]
    }

    public struct CredentialView: Codable, Sendable {
        public var accessKey: String
        public var tenant: String
        public var user: String
        public var status: String
        public var createdAt: String
        /// Only in the answer that creates or rotates it; never stored in clear, never shown again.
        public var secretKey: String?

        init(_ c: CredentialRecord, secret: String? = nil) {
            accessKey = c.accessKey
            tenant = c.tenant
            user = c.user
            status = c.status.rawValue
            createdAt = HTTPDate.iso8601(c.createdAt)
            secretKey = secret
        }
    }

    public struct UpdateCredential: Codable, Sendable {
        public var status: String
    }

    /// A user may hold two keys at once: the old and the new one while rotating.
    public static let maxKeysPerUser = 2

    static let userRoutes: [Route] = [
        Route("GET", "tenants/{tenant}/users", "admin:ListUsers", .tenant) { r, p, ctx throws(AdminError) in
            let tenant = try existingTenant(p, ctx)
            let (marker, limit) = try r.page()
            let found = try store { () throws(StoreError) in
                try ctx.identities.store.users(tenant: tenant, after: marker, limit: limit + 1)
            }
            return .json(AdminPage(found.map(UserView.init), limit: limit) { $0.name })
        },
        Route("POST", "tenants/{tenant}/users", "admin:CreateUser", .tenant) { r, p, ctx throws(AdminError) in
            let tenant = try existingTenant(p, ctx)
            let body = try r.decode(CreateUser.self)
            guard UserRecord.isValidName(body.name) else {
                throw .invalid("a user name is 1 to 64 letters, digits and +=,.@_-")
            }
            let permissions = try validPermissions(body.permissions ?? [:])
            try mayGrant(permissions, r)
            let u = UserRecord(
                tenant: tenant, name: body.name, id: CanonicalID.make(), permissions: permissions, createdAt: r.now)
            try store { () throws(StoreError) in try ctx.identities.store.createUser(u) }
            return .json(UserView(u), status: 201)
        },
        Route("GET", "tenants/{tenant}/users/{user}", "admin:GetUser", .tenant) { _, p, ctx throws(AdminError) in
            .json(UserView(try existingUser(p, ctx)))
        },
        Route("PATCH", "tenants/{tenant}/users/{user}", "admin:UpdateUser", .tenant) { r, p, ctx throws(AdminError) in
            var u = try existingUser(p, ctx, managedBy: r)
            u.permissions = try validPermissions(try r.decode(UpdateUser.self).permissions)
            try mayGrant(u.permissions, r)
            try store { () throws(StoreError) in
                try ctx.identities.store.setPermissions(tenant: u.tenant, user: u.name, u.permissions)
            }
            ctx.identities.invalidate()
            return .json(UserView(u))
        },
        Route("DELETE", "tenants/{tenant}/users/{user}", "admin:DeleteUser", .tenant) { r, p, ctx throws(AdminError) in
            let u = try existingUser(p, ctx, managedBy: r)
            try store { () throws(StoreError) in try ctx.identities.store.deleteUser(tenant: u.tenant, name: u.name) }
            ctx.identities.invalidate()
            return .noContent
        },
        Route("GET", "tenants/{tenant}/users/{user}/credentials", "admin:ListCredentials", .tenant) {
            _, p, ctx throws(AdminError) in
            let u = try existingUser(p, ctx)
            let found = try store { () throws(StoreError) in
                try ctx.identities.store.credentials(tenant: u.tenant, user: u.name)
            }
            return .json(AdminPage(found.map { CredentialView($0) }, limit: found.count) { $0.accessKey })
        },
        Route("POST", "tenants/{tenant}/users/{user}/credentials", "admin:CreateCredential", .tenant) {
            r, p, ctx throws(AdminError) in
            let u = try existingUser(p, ctx, managedBy: r)
            let (accessKey, secret) = NewCredential.make()
            let c = CredentialRecord(
                accessKey: accessKey, tenant: u.tenant, user: u.name,
                sealedSecret: ctx.identities.secretBox.seal(secret, context: accessKey), createdAt: r.now)
            try store { () throws(StoreError) in
                try ctx.identities.store.createCredential(c, maxKeysPerUser: maxKeysPerUser)
            }
            ctx.identities.invalidate(accessKey)
            return .json(CredentialView(c, secret: secret), status: 201)
        },
        Route("GET", "tenants/{tenant}/users/{user}/credentials/{key}", "admin:GetCredential", .tenant) {
            _, p, ctx throws(AdminError) in
            .json(CredentialView(try existingCredential(p, ctx)))
        },
        Route("PATCH", "tenants/{tenant}/users/{user}/credentials/{key}", "admin:UpdateCredential", .tenant) {
            r, p, ctx throws(AdminError) in
            var c = try existingCredential(p, ctx, managedBy: r)
            guard let status = CredentialRecord.Status(rawValue: try r.decode(UpdateCredential.self).status) else {
                throw .invalid("status is active or inactive")
            }
            try store { () throws(StoreError) in
                try ctx.identities.store.setCredentialStatus(accessKey: c.accessKey, status)
            }
            // Sessions issued under this key are checked against it on every lookup.
            ctx.identities.invalidate()
            c.status = status
            return .json(CredentialView(c))
        },
        Route("DELETE", "tenants/{tenant}/users/{user}/credentials/{key}", "admin:DeleteCredential", .tenant) {
            r, p, ctx throws(AdminError) in
            let c = try existingCredential(p, ctx, managedBy: r)
            try store { () throws(StoreError) in try ctx.identities.store.deleteCredential(accessKey: c.accessKey) }
            ctx.identities.invalidate()
            return .noContent
        },
        Route("POST", "tenants/{tenant}/users/{user}/credentials/{key}/rotate", "admin:RotateCredential", .tenant) {
            r, p, ctx throws(AdminError) in
            let c = try existingCredential(p, ctx, managedBy: r)
            let (_, secret) = NewCredential.make()
            try store { () throws(StoreError) in
                try ctx.identities.store.replaceSealedSecret(
                    accessKey: c.accessKey, sealed: ctx.identities.secretBox.seal(secret, context: c.accessKey))
                // Sessions minted with the old secret go too: rotating a leaked key must stop them.
                _ = try ctx.identities.store.deleteSessions(parentKey: c.accessKey)
            }
            ctx.identities.invalidate()
            return .json(CredentialView(c, secret: secret))
        },
    ]

    static func existingTenant(_ p: [String: String], _ ctx: GatewayContext) throws(AdminError) -> String {
        let id = p["tenant"] ?? ""
        guard try store({ () throws(StoreError) in try ctx.identities.store.tenant(id: id) }) != nil else {
            throw .notFound("tenant \(id) does not exist")
        }
        return id
    }

    /// The user the path names. With `managedBy`, the change is refused unless the caller holds
    /// everything the user holds: nobody takes over (mints a key for, rewrites, removes) a user
    /// more powerful than themselves.
    static func existingUser(_ p: [String: String], _ ctx: GatewayContext, managedBy r: AdminRequest? = nil)
        throws(AdminError) -> UserRecord
    {
        let tenant = try existingTenant(p, ctx)
        let name = p["user"] ?? ""
        guard let u = try store({ () throws(StoreError) in try ctx.identities.store.user(tenant: tenant, name: name) })
        else { throw .notFound("user \(name) of tenant \(tenant) does not exist") }
        if let r, !r.principal.holds(u.permissions) {
            throw AdminError(
                status: 403, code: "AccessDenied",
                message:
                    "User \(name) holds permissions you do not hold; only someone who holds them all may manage it.")
        }
        return u
    }

    /// Nobody hands out more than they hold themselves.
    static func mayGrant(_ permissions: PermissionSet, _ r: AdminRequest) throws(AdminError) {
        guard r.principal.holds(permissions) else {
            throw AdminError(
                status: 403, code: "AccessDenied", message: "You cannot grant permissions you do not hold.")
        }
    }

    /// The key must belong to the user the path names: an admin of one tenant cannot reach
    /// another tenant's keys by naming them under its own users.
    static func existingCredential(
        _ p: [String: String], _ ctx: GatewayContext, managedBy r: AdminRequest? = nil
    ) throws(AdminError) -> CredentialRecord {
        let u = try existingUser(p, ctx, managedBy: r)
        let key = p["key"] ?? ""
        guard let (c, _) = try store({ () throws(StoreError) in try ctx.identities.store.credential(accessKey: key) }),
            c.tenant == u.tenant, c.user == u.name, !c.isSession
        else { throw .notFound("access key \(key) of user \(u.name) does not exist") }
        return c
    }

    static func validPermissions(_ rules: [String: [String]]) throws(AdminError) -> PermissionSet {
        let p = PermissionSet(rules)
        if let problem = p.problem(knownActions: KnownActions.all) { throw .invalid("permissions: \(problem)") }
        return p
    }
}

/// Every permission name a user may be granted.
public enum KnownActions {
    public static let sts: Set<String> = ["sts:GetSessionToken", "sts:AssumeRole"]
    public static var all: Set<String> {
        S3Router.knownActions.union(AdminAPI.actions).union(sts).union(WebAPI.actions)
    }
}
