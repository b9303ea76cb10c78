import Foundation
import GatewayCore

/// The residency audit: what every zone really holds, read from the zones themselves (their
/// backend buckets and blobs), held against what the metadata store says and what each bucket's
/// LocationConstraint allows. It finds bytes in zones the constraint does not allow
/// (violations), copies metadata counts on that a zone lacks or holds at another size
/// (missing), versions with fewer copies than their replica-count (short), blobs nothing
/// references (orphans) and backend buckets no tenant bucket maps to (strays); it removes
/// orphans older than a grace period when asked.
///
/// Every version is an object here — the latest and every noncurrent one, each its own set of
/// copies — and a blob a queued removal job names is referenced too (the job removes it, or
/// keeps it while its version is locked): the orphan sweep never takes a version's bytes.
///
/// It works bucket by bucket: the blobs metadata references are held for one bucket at a
/// time, and the zones' blobs stream past them page by page.
public struct ResidencyAudit {
    public struct Options: Sendable {
        /// Remove orphans older than `grace` (never a referenced blob, never a younger one).
        public var removeOrphans = false
        /// Seconds since a blob was written (the zone's last-modified) before an orphan may be
        /// removed: a blob just committed whose metadata row is a moment away is no orphan.
        public var grace: Double = 86400
        /// The audit's "now" (the context's clock when nil).
        public var now: Double?
        /// Entries listed per kind per bucket (violations, missing copies, short objects,
        /// orphans); the counts are always exact.
        public var detailLimit = 1000

        public init(removeOrphans: Bool = false, grace: Double = 86400, now: Double? = nil) {
            self.removeOrphans = removeOrphans
            self.grace = grace
            self.now = now
        }
    }

    let ctx: GatewayContext
    let options: Options
    static let page = 1000

    public init(_ ctx: GatewayContext, options: Options = Options()) {
        self.ctx = ctx
        self.options = options
    }

    /// Audits every bucket and zone; `progress` gets each bucket's report as soon as it is done.
    public func run(progress: (BucketReport) -> Void = { _ in }) throws(StoreError) -> ResidencyReport {
        let now = options.now ?? ctx.clock.now()
        var report = ResidencyReport(generatedAt: now, grace: options.grace, removeOrphans: options.removeOrphans)
        var unreadable: [String: String] = [:]

        // The gateway's backend buckets in every zone (names only; blobs come bucket by bucket).
        var held: [String: [String]] = [:]
        for name in ctx.zones.keys.sorted() {
            do throws(StoreError) {
                held[name] = try ctx.zones[name]!.listBackendBuckets()
            } catch {
                unreadable[name] = Self.describe(error)
            }
        }

        // Backend bucket name → tenant bucket, over every zone a bucket could have a name for:
        // a bucket's bytes under its name for another zone are still its bytes.
        let zoneNames = Set(ctx.catalog.zones.map(\.name)).union(ctx.zones.keys)
        var owners: [String: String] = [:]
        try forEachBucket { b in
            for z in zoneNames.union(b.zones) { owners[ctx.backendBucket(b, in: z)] = b.name }
        }
        var found: [String: [Place]] = [:]
        for (zone, names) in held {
            for name in names {
                if let bucket = owners[name] {
                    found[bucket, default: []].append(Place(zone: zone, backendBucket: name))
                } else if unreadable[zone] == nil {
                    report.strays.append(stray(zone: zone, name: name, &unreadable))
                }
            }
        }
        report.strays.sort { ($0.zone, $0.backendBucket) < ($1.zone, $1.backendBucket) }

        try forEachBucket { (b) throws(StoreError) in
            let r = try audit(b, holding: found[b.name] ?? [], now: now, &unreadable)
            progress(r)
            report.buckets.append(r)
        }
        report.zones = ctx.zones.keys.sorted().map {
            ZoneStatus(zone: $0, country: country($0), error: unreadable[$0])
        }
        return report
    }

    private func forEachBucket(_ body: (BucketRecord) throws(StoreError) -> Void) throws(StoreError) {
        var after = ""
        while true {
            let page = try ctx.metadata.allBuckets(after: after, limit: Self.page)
            for b in page { try body(b) }
            guard page.count == Self.page, let last = page.last else { return }
            after = last.name
        }
    }

    /// A backend bucket no tenant bucket maps to: what it holds, counted. It is never emptied
    /// here: it may be another installation's (same provider account, another secret).
    private func stray(zone: String, name: String, _ unreadable: inout [String: String]) -> StrayBackendBucket {
        var s = StrayBackendBucket(zone: zone, backendBucket: name)
        var after = ""
        do throws(StoreError) {
            while let z = ctx.zones[zone] {
                let page = try z.listBlobs(backendBucket: name, after: after, limit: Self.page)
                s.blobs += page.count
                s.bytes += page.reduce(0) { $0 + $1.size }
                guard page.count == Self.page, let last = page.last else { break }
                after = last.id
            }
        } catch {
            unreadable[zone] = Self.describe(error)
        }
        return s
    }

    // MARK: one bucket

    /// A backend bucket in a zone.
    struct Place: Hashable {
        let zone: String
        let backendBucket: String
    }

    /// A blob metadata references: one of an object's copies (object and copy index), or a
    /// part of an open multipart upload (object -1).
    struct Ref {
        let object: Int
        let copy: Int
        let size: Int64
    }

    /// One copy of an object as metadata records it, and what its zone showed of it.
    struct Copy {
        let place: Place
        let role: String
        /// Recorded as stored (the primary always is; a replica once completed): it must be there.
        let recorded: Bool
        let state: String
        let blob: String
        /// Blobs it consists of (a multipart primary keeps one per part).
        let blobs: Int
        var seen = 0
        var wrongSize: (blob: String, expected: Int64, found: Int64)?
        var absent: String?
        var unverified = false
    }

    /// One version with bytes (a delete marker has none).
    struct Object {
        let key: String
        let versionId: String
        let generation: String
        let wanted: Int
        var copies: [Copy]
        /// Rewritten or deleted while the audit ran: nothing is said about it.
        var changed = false
    }

    /// What metadata says about one bucket: its versions' copies and every blob it references.
    struct Snapshot {
        var objects: [Object] = []
        var refs: [Place: [String: Ref]] = [:]
        var uploads = 0
        /// Live objects (latest versions that are not delete markers) and their bytes.
        var live = 0
        var bytes: Int64 = 0
        /// Every version's bytes, the latest included.
        var versionBytes: Int64 = 0
        var deleteMarkers = 0
        /// Blobs named by removal jobs not done yet.
        var queuedRemovals = 0
    }

    private func references(of b: BucketRecord) throws(StoreError) -> Snapshot {
        var s = Snapshot()
        var names: [String: String] = [:]
        func place(_ zone: String, _ recorded: String? = nil) -> Place {
            let name = names[zone] ?? ctx.backendBucket(b, in: zone)
            names[zone] = name
            // A replica's recorded name is the derived one; shared storage when equal.
            return Place(zone: zone, backendBucket: recorded.map { $0 == name ? name : $0 } ?? name)
        }
        // Uploads before objects: an upload completed in between is seen as its parts or as its
        // object, never as neither (its part blobs would look like orphans).
        var keyMarker = ""
        var idMarker = ""
        while true {
            let uploads = try ctx.metadata.uploads(
                bucket: b.name, prefix: "", keyMarker: keyMarker, uploadIdMarker: idMarker, limit: Self.page)
            for u in uploads {
                s.uploads += 1
                // A provider assembling the upload holds its parts out of sight until completion.
                guard u.zoneUpload.isEmpty else { continue }
                let at = place(u.zone)
                var after = 0
                while true {
                    let parts = try ctx.metadata.parts(uploadId: u.uploadId, after: after, limit: Self.page)
                    for p in parts { s.refs[at, default: [:]][p.blob] = Ref(object: -1, copy: 0, size: p.size) }
                    guard parts.count == Self.page, let last = parts.last else { break }
                    after = last.partNumber
                }
            }
            guard uploads.count == Self.page, let last = uploads.last else { break }
            (keyMarker, idMarker) = (last.key, last.uploadId)
        }
        // Every version, latest and noncurrent: each holds its own copies.
        try VersionWalk(ctx.metadata, bucket: b.name, page: Self.page).visit { (e) throws(StoreError) -> Bool in
            let o = e.record
            if o.isDeleteMarker {
                s.deleteMarkers += 1
                return true
            }
            let i = s.objects.count
            if e.isLatest {
                s.live += 1
                s.bytes += o.size
            }
            s.versionBytes += o.size
            let primary = place(o.zone)
            var copies = [
                Copy(
                    place: primary, role: "primary", recorded: true, state: "primary", blob: o.generation,
                    blobs: o.blobs.count)
            ]
            for part in o.blobs {
                s.refs[primary, default: [:]][part.blob] = Ref(object: i, copy: 0, size: part.size)
            }
            for r in o.replicas {
                let at = place(r.zone, r.backendBucket)
                let recorded = r.state == .completed
                copies.append(
                    Copy(
                        place: at, role: "replica", recorded: recorded, state: r.state.rawValue, blob: r.blob,
                        blobs: r.blob.isEmpty && !recorded ? 0 : 1))
                if !r.blob.isEmpty {
                    s.refs[at, default: [:]][r.blob] = Ref(object: i, copy: copies.count - 1, size: o.storedSize)
                }
            }
            s.objects.append(
                Object(
                    key: o.key, versionId: o.versionId, generation: o.generation, wanted: wanted(o, b),
                    copies: copies))
            return true
        }
        // A blob a removal job still names is not an orphan: the job removes it when it runs —
        // or keeps it, deferred, while the version it belonged to is locked.
        for state in [ReplicationJob.State.pending, .running] {
            var after: Int64 = 0
            while true {
                let jobs = try ctx.metadata.jobs(bucket: b.name, key: nil, state: state, after: after, limit: Self.page)
                for j in jobs where j.kind == .removeBlob && !j.blob.isEmpty {
                    let at = Place(zone: j.zone, backendBucket: j.backendBucket)
                    if s.refs[at]?[j.blob] == nil {
                        s.refs[at, default: [:]][j.blob] = Ref(object: -1, copy: 0, size: 0)
                        s.queuedRemovals += 1
                    }
                }
                guard jobs.count == Self.page, let last = jobs.last else { break }
                after = last.id
            }
        }
        return s
    }

    /// The copies an object asks for: its `replica-count` tag, else its bucket's count.
    private func wanted(_ o: ObjectRecord, _ b: BucketRecord) -> Int {
        if let n = try? Replication.count(tags: o.tags, bucket: b) { return n }
        let tag = o.tags.first { $0.name == Replication.tagKey }?.value.trimmingCharacters(in: .whitespaces)
        return tag.flatMap { Int($0) }.map { max(1, $0) } ?? max(1, b.replicaCount)
    }

    private func audit(_ b: BucketRecord, holding: [Place], now: Double, _ unreadable: inout [String: String])
        throws(StoreError) -> BucketReport
    {
        let allowed = Dictionary(
            uniqueKeysWithValues: Set(ctx.zones.keys).union(b.zones).map { z in
                (z, (try? Residency.check(zone: z, for: b, catalog: ctx.catalog)) != nil)
            })
        var r = BucketReport(b, countries: (try? ctx.catalog.placement(for: b.locationConstraint).countries) ?? [])
        var snapshot = try references(of: b)
        r.objects = snapshot.live
        r.bytes = snapshot.bytes
        r.versions = snapshot.objects.count
        r.versionBytes = snapshot.versionBytes
        r.deleteMarkers = snapshot.deleteMarkers
        r.queuedRemovals = snapshot.queuedRemovals
        r.openUploads = snapshot.uploads
        let limit = options.detailLimit

        var usage: [String: ZoneUsage] = [:]
        var removable: [(place: Place, id: String, detail: Int?)] = []
        let places = Set(holding).union(snapshot.refs.keys).sorted {
            ($0.zone, $0.backendBucket) < ($1.zone, $1.backendBucket)
        }
        for place in places {
            // A zone metadata names but the configuration lacks: its copies count as missing.
            guard let zone = ctx.zones[place.zone] else { continue }
            var u =
                usage[place.zone]
                ?? ZoneUsage(zone: place.zone, country: country(place.zone), allowed: allowed[place.zone] ?? false)
            var after = ""
            do throws(StoreError) {
                if let why = unreadable[place.zone] { throw .zoneUnavailable(why) }
                while true {
                    let page = try zone.listBlobs(backendBucket: place.backendBucket, after: after, limit: Self.page)
                    for blob in page {
                        u.blobs += 1
                        u.bytes += blob.size
                        let ref = snapshot.refs[place]?.removeValue(forKey: blob.id)
                        if let ref, ref.object >= 0 {
                            snapshot.objects[ref.object].copies[ref.copy].seen += 1
                            if blob.size != ref.size {
                                snapshot.objects[ref.object].copies[ref.copy].wrongSize = (blob.id, ref.size, blob.size)
                            }
                        }
                        if !u.allowed {
                            let version = ref.flatMap { $0.object >= 0 ? snapshot.objects[$0.object] : nil }
                            r.violations.add(
                                Violation(
                                    zone: place.zone, country: u.country, backendBucket: place.backendBucket,
                                    blob: blob.id, size: blob.size, key: version?.key, versionId: version?.versionId),
                                limit: limit)
                            r.violationBytes += blob.size
                        }
                        guard ref == nil else { continue }
                        let age = blob.lastModified.map { now - $0 }
                        let index = r.orphans.add(
                            Orphan(
                                zone: place.zone, backendBucket: place.backendBucket, blob: blob.id, size: blob.size,
                                lastModified: blob.lastModified, age: age),
                            limit: limit)
                        r.orphanBytes += blob.size
                        if options.removeOrphans, let age, age > options.grace {
                            removable.append((place, blob.id, index))
                        }
                    }
                    guard page.count == Self.page, let last = page.last else { break }
                    after = last.id
                }
            } catch {
                // The zone does not answer: nothing is said about what it holds.
                unreadable[place.zone] = unreadable[place.zone] ?? Self.describe(error)
                for ref in (snapshot.refs[place] ?? [:]).values where ref.object >= 0 {
                    snapshot.objects[ref.object].copies[ref.copy].unverified = true
                }
                snapshot.refs[place] = nil
            }
            usage[place.zone] = u
        }

        confirmAbsences(&snapshot, b)
        tally(snapshot.objects, allowed: allowed, &r, &usage)
        // Placement order (primary first), then any other zone by name.
        let rank = Dictionary(b.zones.enumerated().map { ($1, $0) }) { a, _ in a }
        r.zones = usage.values.sorted { (rank[$0.zone] ?? Int.max, $0.zone) < (rank[$1.zone] ?? Int.max, $1.zone) }
        r.summarizeCountries()

        if !removable.isEmpty { removeOrphans(removable, of: b, &r) }
        return r
    }

    /// What metadata references and the listing did not show is looked at once more, blob by
    /// blob, and its version re-read: only a copy still recorded and still absent is missing (a
    /// version deleted or rewritten during the audit is not).
    private func confirmAbsences(_ s: inout Snapshot, _ b: BucketRecord) {
        for (place, rest) in s.refs {
            guard let zone = ctx.zones[place.zone] else { continue }
            for (id, ref) in rest where ref.object >= 0 {
                let copy = s.objects[ref.object].copies[ref.copy]
                guard copy.recorded, !copy.unverified, !s.objects[ref.object].changed else { continue }
                let info: StoredBlob?
                do throws(StoreError) {
                    info = try zone.blobInfo(backendBucket: place.backendBucket, blob: id)
                } catch {
                    s.objects[ref.object].copies[ref.copy].unverified = true
                    continue
                }
                if let info {
                    s.objects[ref.object].copies[ref.copy].seen += 1
                    if info.size != ref.size {
                        s.objects[ref.object].copies[ref.copy].wrongSize = (id, ref.size, info.size)
                    }
                } else if stillRecorded(s.objects[ref.object], copy, b) {
                    s.objects[ref.object].copies[ref.copy].absent = id
                } else {
                    s.objects[ref.object].changed = true
                }
            }
        }
    }

    private func stillRecorded(_ o: Object, _ copy: Copy, _ b: BucketRecord) -> Bool {
        guard let current = try? ctx.metadata.version(bucket: b.name, key: o.key, generation: o.generation) else {
            return false
        }
        if copy.role == "primary" { return current.zone == copy.place.zone }
        return current.replicas.contains {
            $0.zone == copy.place.zone && $0.blob == copy.blob && $0.state == .completed
        }
    }

    /// Per object: copies present (recorded, every blob there at its size, in an allowed zone)
    /// against the count it wants.
    private func tally(
        _ objects: [Object], allowed: [String: Bool], _ r: inout BucketReport, _ usage: inout [String: ZoneUsage]
    ) {
        let limit = options.detailLimit
        for o in objects where !o.changed {
            var present: [String] = []
            var short = ShortObject(key: o.key, versionId: o.versionId, wanted: o.wanted)
            for c in o.copies {
                let zone = c.place.zone
                if !c.recorded {
                    if c.state == Replica.State.failed.rawValue {
                        short.failed.append(zone)
                    } else {
                        short.pending.append(zone)
                    }
                    continue
                }
                var missing = MissingCopy(
                    key: o.key, versionId: o.versionId, zone: zone, backendBucket: c.place.backendBucket, blob: c.blob,
                    role: c.role,
                    reason: "", expectedSize: nil, foundSize: nil)
                if ctx.zones[zone] == nil {
                    missing.reason = "zone-not-configured"
                } else if c.unverified {
                    short.unverified.append(zone)
                    continue
                } else if let id = c.absent ?? (c.seen < c.blobs ? c.blob : nil) {
                    missing.reason = "absent"
                    missing.blob = id
                } else if let w = c.wrongSize {
                    missing.reason = "size"
                    (missing.blob, missing.expectedSize, missing.foundSize) = (w.blob, w.expected, w.found)
                } else {
                    if allowed[zone] == true {
                        present.append(zone)
                        usage[zone]?.objects += 1
                    }
                    continue
                }
                r.missing.add(missing, limit: limit)
                short.missing.append(zone)
            }
            short.present = present
            for country in Set(present.map(country)) { r.countryObjects[country, default: 0] += 1 }
            if present.count >= o.wanted {
                r.complete += 1
                if present.count > o.wanted { r.over += 1 }
            } else {
                r.short.add(short, limit: limit)
            }
        }
        r.changed = objects.count { $0.changed }
    }

    /// Removes the old orphans found, once metadata read again (after the zones were listed)
    /// still does not reference them: a blob that became referenced meanwhile (an upload
    /// completed during the audit) stays, whatever its age.
    private func removeOrphans(
        _ candidates: [(place: Place, id: String, detail: Int?)], of b: BucketRecord, _ r: inout BucketReport
    ) {
        guard let current = try? references(of: b) else { return }
        var removedFrom: Set<String> = []
        defer {
            if !removedFrom.isEmpty {
                AuditAfter.append(
                    .orphansRemoved(bucket: b.name, count: r.orphansRemoved, zones: Array(removedFrom)), ctx)
            }
        }
        for c in candidates where current.refs[c.place]?[c.id] == nil {
            let name = "\(c.place.zone)/\(c.place.backendBucket)/\(c.id)"
            do throws(StoreError) {
                try ctx.zones[c.place.zone]?.deleteBlob(backendBucket: c.place.backendBucket, blob: c.id)
                r.orphansRemoved += 1
                removedFrom.insert(c.place.zone)
                if let i = c.detail { r.orphans.items[i].removed = true }
                ctx.logger.notice("removed orphan \(name) of bucket \(b.name)")
            } catch {
                ctx.logger.warning("removing orphan \(name) of bucket \(b.name) failed: \(error)")
            }
        }
    }

    private func country(_ zone: String) -> String { ctx.catalog.zone(named: zone)?.country ?? "" }

    static func describe(_ error: StoreError) -> String {
        switch error {
        case .zoneUnavailable(let m), .internalFailure(let m): m
        default: "\(error)"
        }
    }
}

extension Maintenance {
    /// The agent's orphan sweep: the residency audit removing orphans older than `grace`
    /// seconds. Returns the audit's report (what it found, what it removed).
    /// What it found beyond orphans is logged for the operator (`s3gw audit residency` tells
    /// more).
    @discardableResult
    public static func removeOrphans(olderThan grace: Double, _ ctx: GatewayContext) throws(StoreError)
        -> ResidencyReport
    {
        let report: ResidencyReport
        do {
            report = try ResidencyAudit(ctx, options: .init(removeOrphans: true, grace: grace)).run()
        } catch {
            ctx.logger.error("orphan sweep failed: \(error)")
            throw error
        }
        if report.orphans > 0 {
            ctx.logger.notice(
                "orphan sweep: \(report.orphans) orphans found, \(report.orphansRemoved) older than \(Int(grace))s removed"
            )
        }
        if !report.clean {
            ctx.logger.warning(
                "orphan sweep: \(report.violations) blobs outside their allowed zones, \(report.missingCopies) missing copies, \(report.unreadableZones.count) unreadable zones; see s3gw audit residency"
            )
        }
        return report
    }
}
