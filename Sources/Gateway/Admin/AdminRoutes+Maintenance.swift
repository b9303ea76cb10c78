import Foundation
import GatewayCore

/// What the operator's maintenance commands do, over the API: a bucket's repair
/// (`s3gw repair`), the stray zone upload sweep (`s3gw zones sweep-uploads`), the residency
/// audit (`s3gw audit residency`), and what a zone itself holds (`s3gw zones ls`).
extension AdminAPI {
    public struct RepairBucket: Codable, Sendable {
        /// One object (default: every object of the bucket).
        public var key: String?
        /// Read every copy and compare its bytes with the object's ETag.
        public var deep: Bool?
    }

    public struct RepairedObjectView: Codable, Sendable {
        public var key: String
        /// One line per copy found wrong, with what was done about it.
        public var notes: [String]
        public var queued: Int
        /// No intact copy left.
        public var lost: Bool
        /// Copies that could not be checked, with why.
        public var unchecked: [String]
    }

    public struct RepairView: Codable, Sendable {
        public var checked: Int
        public var queued: Int
        public var lost: Int
        public var unchecked: Int
        /// The objects with something to report (at most 1000).
        public var objects: [RepairedObjectView]
        public var objectsTruncated: Bool
    }

    public struct SweepUploads: Codable, Sendable {
        /// Only uploads started at least this many seconds ago (default: multipart_expiry).
        public var olderThan: Int?
    }

    public struct SweptView: Codable, Sendable {
        public var aborted: Int
    }

    public struct AuditResidency: Codable, Sendable {
        /// Remove orphans older than the grace period.
        public var removeOrphans: Bool?
        /// The grace period in seconds (default: [replication] orphan_grace).
        public var olderThan: Int?
    }

    public struct BackendBucketView: Codable, Sendable {
        public var name: String
    }

    public struct BlobView: Codable, Sendable {
        public var id: String
        public var size: Int64
        /// The zone's ETag, where it keeps one.
        public var etag: String?
        public var lastModified: String?
    }

    static let reportedObjects = 1000
    /// Ten years: longer is no cutoff a person means.
    static let maxAge = 10 * 365 * 86400

    static let maintenanceRoutes: [Route] = [
        Route("POST", "tenants/{tenant}/buckets/{bucket}/repair", "admin:RepairBucket", .gateway) {
            r, p, ctx throws(AdminError) in
            let b = try existingBucket(p, ctx)
            let body = try r.decode(RepairBucket.self)
            var view = RepairView(checked: 0, queued: 0, lost: 0, unchecked: 0, objects: [], objectsTruncated: false)
            do throws(StoreError) {
                view.checked = try Repair.bucket(
                    b.name, key: body.key, Repair.Options(deep: body.deep ?? false, retryDead: true), ctx
                ) { out in
                    view.queued += out.queued
                    view.lost += out.lost ? 1 : 0
                    view.unchecked += out.unchecked.count
                    guard !out.notes.isEmpty || !out.unchecked.isEmpty || out.lost else { return }
                    guard view.objects.count < reportedObjects else {
                        view.objectsTruncated = true
                        return
                    }
                    view.objects.append(
                        RepairedObjectView(
                            key: out.key, notes: out.notes, queued: out.queued, lost: out.lost,
                            unchecked: out.unchecked))
                }
            } catch {
                if error == .noSuchKey { throw .notFound("no object \(body.key ?? "") in bucket \(b.displayName)") }
                throw .from(error)
            }
            return .json(view)
        },
        Route("POST", "zones/sweep-uploads", "admin:SweepZoneUploads", .gateway) { r, _, ctx throws(AdminError) in
            let body = try r.decode(SweepUploads.self)
            if let age = body.olderThan, !(0...maxAge).contains(age) {
                throw .invalid("older_than is 0 to \(maxAge) seconds")
            }
            let age = body.olderThan.map(Double.init) ?? ctx.admin.multipartExpiry
            do {
                return .json(SweptView(aborted: try Maintenance.abortStrayZoneUploads(olderThan: r.now - age, ctx)))
            } catch let e as StoreError {
                throw .from(e)
            } catch {
                throw .internalError
            }
        },
        Route("POST", "audit/residency", "admin:AuditResidency", .gateway) { r, _, ctx throws(AdminError) in
            let body = try r.decode(AuditResidency.self)
            if let age = body.olderThan, !(0...maxAge).contains(age) {
                throw .invalid("older_than is 0 to \(maxAge) seconds")
            }
            let grace = body.olderThan.map(Double.init) ?? ctx.replication.orphanGrace
            let audit = ResidencyAudit(ctx, options: .init(removeOrphans: body.removeOrphans ?? false, grace: grace))
            let report = try store { () throws(StoreError) in try audit.run() }
            // The audit's own document (format s3gw-residency-audit/1, docs/RESIDENCY.md).
            guard let json = try? JSONSerialization.data(withJSONObject: report.document, options: [.sortedKeys]) else {
                throw .internalError
            }
            return AdminResponse(body: Array(json))
        },
        Route("GET", "zones/{zone}/backend-buckets", "admin:ListZoneBuckets", .gateway) {
            r, p, ctx throws(AdminError) in
            let (marker, limit) = try r.page()
            let zone = try storage(p, ctx)
            let names = try zoneRead { () throws(StoreError) in try zone.listBackendBuckets() }
            let page = names.sorted().filter { $0 > marker }.prefix(limit + 1).map(BackendBucketView.init)
            return .json(AdminPage(Array(page), limit: limit) { $0.name })
        },
        Route("GET", "zones/{zone}/backend-buckets/{backend}/blobs", "admin:ListZoneBlobs", .gateway) {
            r, p, ctx throws(AdminError) in
            let (marker, limit) = try r.page()
            let zone = try storage(p, ctx)
            // A name the gateway could have given: nothing else is looked up (no path in it).
            let backend = p["backend"] ?? ""
            guard BucketName.isValid(backend) else { throw .notFound("zone \(zone.name) has no bucket \(backend)") }
            let blobs = try zoneRead { () throws(StoreError) in
                try zone.listBlobs(backendBucket: backend, after: marker, limit: limit + 1)
            }
            let views = blobs.map {
                BlobView(id: $0.id, size: $0.size, etag: $0.etag, lastModified: $0.lastModified.map(HTTPDate.iso8601))
            }
            return .json(AdminPage(views, limit: limit) { $0.id })
        },
    ]

    /// A zone read on the operator's behalf (`s3gw zones ls`): when the zone does not answer,
    /// the 503 says which zone and why, as the health checker records it (never a credential).
    static func zoneRead<T>(_ body: () throws(StoreError) -> T) throws(AdminError) -> T {
        do { return try body() } catch {
            if case .zoneUnavailable(let reason) = error {
                throw AdminError(status: 503, code: "ServiceUnavailable", message: reason)
            }
            throw AdminError.from(error)
        }
    }

    /// The storage of the configured zone the path names.
    static func storage(_ p: [String: String], _ ctx: GatewayContext) throws(AdminError) -> any StorageZone {
        let z = try existingZone(p, ctx)
        guard let zone = ctx.zones[z.name] else {
            throw .conflict("zone \(z.name) is configured but this process has no storage for it")
        }
        return zone
    }
}
