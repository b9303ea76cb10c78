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
    /// The zones are listed before the gateway's uploads are read: an upload the gateway
    /// records meanwhile is then among those read, never taken for a stray one. The cutoff
    /// keeps away from writes still under way.
    public static func abortStrayZoneUploads(olderThan cutoff: Double, _ ctx: GatewayContext) throws -> Int {
        var candidates: [(zone: any StorageZone, backendBucket: String, upload: ZoneUpload)] = []
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
        if candidates.isEmpty { return 0 }
        let owned = try ownedZoneUploads(ctx)
        var aborted = 0
        for (zone, backendBucket, upload) in candidates
        where !owned.contains(OwnedUpload(zone: zone.name, backendBucket: backendBucket, handle: upload.handle)) {
            do {
                try zone.abortMultipart(backendBucket: backendBucket, multipart: upload.handle)
                aborted += 1
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

    /// The zone-side uploads of every open gateway upload, over all buckets of all owners.
    private static func ownedZoneUploads(_ ctx: GatewayContext) throws -> Set<OwnedUpload> {
        var owned: Set<OwnedUpload> = []
        var after = ""
        while true {
            let buckets = try ctx.metadata.allBuckets(after: after, limit: 100)
            guard let last = buckets.last else { return owned }
            after = last.name
            for bucket in buckets {
                var keyMarker = ""
                var uploadIdMarker = ""
                while true {
                    let page = try ctx.metadata.uploads(
                        bucket: bucket.name, prefix: "", keyMarker: keyMarker, uploadIdMarker: uploadIdMarker,
                        limit: 1000)
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
        }
    }
}
