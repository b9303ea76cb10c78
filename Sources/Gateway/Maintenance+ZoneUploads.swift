import GatewayCore
import Logging

extension Maintenance {
    /// Aborts the zone-side multipart uploads no open gateway upload owns and started before
    /// `cutoff` (seconds since 1970): a CreateMultipartUpload the provider carried out after the
    /// client's request had timed out, a replication copy or an unknown-length write cut off
    /// mid-way. Nothing in metadata references those, so nothing else would ever abort them,
    /// and the provider keeps (and bills) their parts. Returns how many went. A zone or backend
    /// bucket that cannot be listed is skipped with a log line; the next sweep tries again.
    ///
    /// Only the backend buckets of this installation's tenant buckets are swept. Those no
    /// tenant bucket maps to are left alone (and counted in a log line), as the residency audit
    /// leaves stray backend buckets: one may belong to another installation sharing the
    /// provider account, whose open uploads are none of ours to end.
    ///
    /// The zones are listed before the gateway's uploads are read: an upload the gateway
    /// records meanwhile is then among those read, never taken for a stray one. The cutoff
    /// keeps away from writes still under way.
    public static func abortStrayZoneUploads(olderThan cutoff: Double, _ ctx: GatewayContext) throws -> Int {
        let tenantBuckets = try allTenantBuckets(ctx)
        var mapped: Set<String> = []  // "zone/backend bucket"
        for bucket in tenantBuckets {
            for zone in bucket.zones { mapped.insert(zone + "/" + ctx.backendBucket(bucket, in: zone)) }
        }
        var candidates: [(zone: any StorageZone, backendBucket: String, upload: ZoneUpload)] = []
        var unmapped = 0
        for name in ctx.zones.keys.sorted() {
            guard let zone = ctx.zones[name] else { continue }
            let backendBuckets: [String]
            do {
                backendBuckets = try zone.listBackendBuckets()
            } catch {
                ctx.logger.warning("stray upload sweep: zone \(name) skipped, its buckets cannot be listed: \(error)")
                continue
            }
            for backendBucket in backendBuckets {
                guard mapped.contains(name + "/" + backendBucket) else {
                    unmapped += 1
                    continue
                }
                do {
                    for upload in try zone.listZoneUploads(backendBucket: backendBucket) {
                        guard let initiated = upload.initiated, initiated < cutoff else { continue }
                        candidates.append((zone, backendBucket, upload))
                    }
                } catch {
                    ctx.logger.warning(
                        "stray upload sweep: zone \(name) bucket \(backendBucket) skipped, its uploads cannot be listed: \(error)"
                    )
                }
            }
        }
        if unmapped > 0 {
            ctx.logger.info("stray upload sweep: \(unmapped) backend bucket(s) no bucket maps to left alone")
        }
        if candidates.isEmpty { return 0 }
        let owned = try ownedZoneUploads(tenantBuckets, ctx)
        var aborted = 0
        var zones: Set<String> = []
        defer { if aborted > 0 { AuditAfter.append(.uploadsSwept(count: aborted, zones: Array(zones)), ctx) } }
        for (zone, backendBucket, upload) in candidates
        where !owned.contains(OwnedUpload(zone: zone.name, backendBucket: backendBucket, handle: upload.handle)) {
            do {
                try zone.abortMultipart(backendBucket: backendBucket, multipart: upload.handle)
                aborted += 1
                zones.insert(zone.name)
                ctx.logger.notice(
                    "aborted stray upload \(upload.uploadId) of \(upload.key) in zone \(zone.name) bucket \(backendBucket)"
                )
            } catch {
                ctx.logger.warning(
                    "stray upload sweep: aborting \(upload.uploadId) in zone \(zone.name) bucket \(backendBucket) failed: \(error)"
                )
            }
        }
        return aborted
    }

    /// A zone-side upload an open gateway upload owns: its zone, the backend bucket its tenant
    /// bucket has there, and its handle.
    private struct OwnedUpload: Hashable {
        var zone: String
        var backendBucket: String
        var handle: String
    }

    /// Every tenant bucket, of all owners.
    private static func allTenantBuckets(_ ctx: GatewayContext) throws -> [BucketRecord] {
        var all: [BucketRecord] = []
        while true {
            let page = try ctx.metadata.allBuckets(after: all.last?.name ?? "", limit: 1000)
            if page.isEmpty { return all }
            all += page
        }
    }

    /// The zone-side uploads of every open gateway upload in `buckets`.
    private static func ownedZoneUploads(_ buckets: [BucketRecord], _ ctx: GatewayContext) throws -> Set<OwnedUpload> {
        var owned: Set<OwnedUpload> = []
        for bucket in buckets {
            var keyMarker = ""
            var uploadIdMarker = ""
            while true {
                let page = try ctx.metadata.uploads(
                    bucket: bucket.name, prefix: "", keyMarker: keyMarker, uploadIdMarker: uploadIdMarker, limit: 1000)
                for upload in page where !upload.zoneUpload.isEmpty {
                    owned.insert(
                        OwnedUpload(
                            zone: upload.zone, backendBucket: ctx.backendBucket(bucket, in: upload.zone),
                            handle: upload.zoneUpload))
                }
                guard let tail = page.last, page.count == 1000 else { break }
                keyMarker = tail.key
                uploadIdMarker = tail.uploadId
            }
        }
        return owned
    }
}
