import Foundation
import GatewayCore

/// A tenant's SSE-KMS keys (docs/ENCRYPTION.md): `GET/POST /admin/tenants/{tenant}/kms-keys`,
/// `GET/PATCH /admin/tenants/{tenant}/kms-keys/{id}`, `POST …/{id}/rotate`. Key material never
/// leaves the key service: answers name keys (id, ARN, alias, state, how many versions).
extension AdminAPI {
    public struct KMSKeyView: Codable, Sendable {
        public var id: String
        public var arn: String
        public var tenant: String
        public var alias: String
        public var description: String
        /// "kms" (made here) or "sse-s3" (the tenant's SSE-S3 key, made on first use).
        public var kind: String
        public var state: String
        public var versions: Int
        public var createdAt: String

        init(_ k: KMSKeyRecord, _ keys: KeyService) {
            id = k.id
            arn = keys.arn(k)
            tenant = k.tenant
            alias = k.alias
            description = k.description
            kind = k.kind
            state = k.state
            versions = (try? KeyService.versions(k).count) ?? 0
            createdAt = HTTPDate.iso8601(k.createdAt)
        }
    }

    public struct CreateKMSKey: Codable, Sendable {
        public var alias: String?
        public var description: String?
    }

    public struct UpdateKMSKey: Codable, Sendable {
        public var state: String?
        public var alias: String?
    }

    static let kmsKeyRoutes: [Route] = [
        Route("GET", "tenants/{tenant}/kms-keys", "admin:ListKeys", .tenant) { _, p, ctx throws(AdminError) in
            let tenant = try existingTenant(p, ctx)
            let keys = keyService(ctx)
            let found = try store { () throws(StoreError) in try ctx.metadata.kmsKeys(tenant: tenant) }
            // A tenant has few keys: one page.
            return .json(AdminPage(found.map { KMSKeyView($0, keys) }, limit: Int.max) { $0.id })
        },
        Route("POST", "tenants/{tenant}/kms-keys", "admin:CreateKey", .tenant) { r, p, ctx throws(AdminError) in
            let tenant = try existingTenant(p, ctx)
            let body = try r.decode(CreateKMSKey.self)
            let alias = try validAlias(body.alias ?? "")
            let description = body.description ?? ""
            guard description.utf8.count <= 8192 else { throw .invalid("a description is at most 8192 bytes") }
            let keys = keyService(ctx)
            let k = try keyCall { try keys.createKey(tenant: tenant, alias: alias, description: description) }
            return .json(KMSKeyView(k, keys), status: 201)
        },
        Route("GET", "tenants/{tenant}/kms-keys/{id}", "admin:GetKey", .tenant) { _, p, ctx throws(AdminError) in
            let k = try tenantKey(p, ctx)
            return .json(KMSKeyView(k, keyService(ctx)))
        },
        Route("PATCH", "tenants/{tenant}/kms-keys/{id}", "admin:UpdateKey", .tenant) { r, p, ctx throws(AdminError) in
            let k = try tenantKey(p, ctx)
            let body = try r.decode(UpdateKMSKey.self)
            if let state = body.state {
                guard state == "Enabled" || state == "Disabled" else {
                    throw .invalid("state is Enabled or Disabled")
                }
                // Every SSE-S3 object of the tenant opens under this key: never switched off.
                if state == "Disabled" && k.kind == KeyService.sseS3Kind {
                    throw .conflict("the tenant's SSE-S3 key cannot be disabled")
                }
            }
            var alias: String?
            if let given = body.alias {
                guard k.kind == KeyService.kmsKind else { throw .conflict("the SSE-S3 key's alias is fixed") }
                alias = try validAlias(given)
            }
            // A compare-and-set on the row: a rotation meanwhile keeps its new version.
            let keys = keyService(ctx)
            let updated = try keyCall {
                try keys.update(id: k.id) { row in
                    if let state = body.state { row.state = state }
                    if let alias { row.alias = alias }
                } audit: {
                    .kmsKeyState($0)
                }
            }
            return .json(KMSKeyView(updated, keys))
        },
        Route("POST", "tenants/{tenant}/kms-keys/{id}/rotate", "admin:RotateKey", .tenant) {
            _, p, ctx throws(AdminError) in
            let k = try tenantKey(p, ctx)
            let keys = keyService(ctx)
            let rotated = try keyCall { try keys.rotate(id: k.id) }
            return .json(KMSKeyView(rotated, keys))
        },
    ]

    static func keyService(_ ctx: GatewayContext) -> KeyService { ctx.keys }

    /// The key `{id}` of tenant `{tenant}`: another tenant's key does not exist here.
    static func tenantKey(_ p: [String: String], _ ctx: GatewayContext) throws(AdminError) -> KMSKeyRecord {
        let tenant = try existingTenant(p, ctx)
        let id = p["id"] ?? ""
        guard let k = try store({ () throws(StoreError) in try ctx.metadata.kmsKey(id: id) }), k.tenant == tenant
        else { throw .notFound("key \(id) does not exist") }
        return k
    }

    /// "" (none), or 1 to 256 of letters, digits, `/`, `_` and `-`; "alias/" in front is
    /// dropped; names beginning with "aws/" are reserved, as in AWS KMS.
    static func validAlias(_ given: String) throws(AdminError) -> String {
        let alias = given.hasPrefix("alias/") ? String(given.dropFirst(6)) : given
        if alias.isEmpty { return "" }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/_-")
        guard alias.count <= 256, alias.allSatisfy(allowed.contains) else {
            throw .invalid("an alias is 1 to 256 letters, digits, '/', '_' and '-'")
        }
        guard !alias.hasPrefix("aws/") else { throw .invalid("aliases beginning with aws/ are reserved") }
        return alias
    }

    /// A key service call: store failures as administrators see them, anything else internal.
    static func keyCall<T>(_ body: () throws -> T) throws(AdminError) -> T {
        do {
            return try body()
        } catch let e as StoreError {
            throw AdminError.from(e)
        } catch {
            throw .internalError
        }
    }
}
