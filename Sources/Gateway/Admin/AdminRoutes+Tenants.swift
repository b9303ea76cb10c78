import GatewayCore

/// Tenants: `GET/POST /admin/tenants`, `GET/DELETE /admin/tenants/{tenant}`.
extension AdminAPI {
    public struct TenantView: Codable, Sendable {
        public var id: String
        public var displayName: String
        public var createdAt: String

        init(_ t: TenantRecord) {
            id = t.id
            displayName = t.displayName
            createdAt = HTTPDate.iso8601(t.createdAt)
        }
    }

    public struct CreateTenant: Codable, Sendable {
        public var id: String
        public var displayName: String?
    }

    static let tenantRoutes: [Route] = [
        Route("GET", "tenants", "admin:ListTenants", .gateway) { r, _, ctx throws(AdminError) in
            let (marker, limit) = try r.page()
            let found = try store { () throws(StoreError) in
                try ctx.identities.store.tenants(after: marker, limit: limit + 1)
            }
            return .json(AdminPage(found.map(TenantView.init), limit: limit) { $0.id })
        },
        Route("POST", "tenants", "admin:CreateTenant", .gateway) { r, _, ctx throws(AdminError) in
            let body = try r.decode(CreateTenant.self)
            guard TenantRecord.isValidID(body.id) else {
                throw .invalid("a tenant id is 1 to 32 lowercase letters, digits and dashes")
            }
            let t = TenantRecord(id: body.id, displayName: body.displayName ?? body.id, createdAt: r.now)
            try store { () throws(StoreError) in try ctx.identities.store.createTenant(t) }
            return .json(TenantView(t), status: 201)
        },
        Route("GET", "tenants/{tenant}", "admin:GetTenant", .tenant) { _, p, ctx throws(AdminError) in
            let id = p["tenant"] ?? ""
            guard let t = try store({ () throws(StoreError) in try ctx.identities.store.tenant(id: id) }) else {
                throw .notFound("tenant \(id) does not exist")
            }
            return .json(TenantView(t))
        },
        Route("DELETE", "tenants/{tenant}", "admin:DeleteTenant", .gateway) { _, p, ctx throws(AdminError) in
            let id = p["tenant"] ?? ""
            guard id != TenantRecord.defaultID else { throw .conflict("the default tenant cannot be deleted") }
            try store { () throws(StoreError) in try ctx.identities.store.deleteTenant(id: id) }
            return .noContent
        },
    ]

    /// Runs a store call, turning its failure into the admin error administrators see.
    static func store<T>(_ body: () throws(StoreError) -> T) throws(AdminError) -> T {
        do { return try body() } catch { throw AdminError.from(error) }
    }
}
