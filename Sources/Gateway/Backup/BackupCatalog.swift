import Foundation
import GatewayCore
import SigV4

/// What a backup bucket holds for one installation, by generation, and the choices made on it:
/// which snapshot and segments restore a point in time, which generations retention removes.
public struct BackupCatalog: Sendable {
    public struct Generation: Sendable {
        public var name: String
        public var time: Double
        public var manifest: String?
        public var snapshot: String?
        public var segments: [(name: String, segment: BackupLayout.SegmentName)] = []
        /// Every object of the generation (snapshot, manifest, segments).
        public var objects: [String] = []
        public var bytes: Int64 = 0
    }

    public let installation: String
    /// Oldest first.
    public private(set) var generations: [Generation] = []

    /// From the names (and sizes) listed under `databases/<installation>/`.
    public init(installation: String, objects: [StoredBlob]) {
        self.installation = installation
        var byName: [String: Generation] = [:]
        let snapshots = BackupLayout.snapshots(installation)
        let wal = BackupLayout.wal(installation)
        for o in objects {
            let inSnapshots = o.id.hasPrefix(snapshots)
            guard inSnapshots || o.id.hasPrefix(wal) else { continue }
            let rest = o.id.dropFirst(inSnapshots ? snapshots.count : wal.count)
            guard let slash = rest.firstIndex(of: "/") else { continue }
            let gen = String(rest[..<slash])
            let file = String(rest[rest.index(after: slash)...])
            guard let time = BackupLayout.generationTime(gen) else { continue }
            var g = byName[gen] ?? Generation(name: gen, time: time)
            g.objects.append(o.id)
            g.bytes += o.size
            if inSnapshots {
                if file == "manifest.json" {
                    g.manifest = o.id
                } else if file.hasPrefix("snapshot-") {
                    g.snapshot = o.id
                }
            } else if let s = BackupLayout.SegmentName(fileName: file) {
                g.segments.append((o.id, s))
            }
            byName[gen] = g
        }
        generations = byName.values.sorted { $0.name < $1.name }
        for i in generations.indices {
            generations[i].segments.sort { $0.segment.order < $1.segment.order }
        }
    }

    public static func load(zone: any NamedObjectZone, bucket: String, installation: String) throws -> BackupCatalog {
        BackupCatalog(
            installation: installation,
            objects: try zone.listAllNamed(backendBucket: bucket, prefix: BackupLayout.root(installation)))
    }

    /// The installations with backups in the bucket.
    public static func installations(zone: any NamedObjectZone, bucket: String) throws -> [String] {
        var ids: Set<String> = []
        for o in try zone.listAllNamed(backendBucket: bucket, prefix: "databases/") {
            let parts = o.id.split(separator: "/")
            if parts.count > 2 { ids.insert(String(parts[1])) }
        }
        return ids.sorted()
    }

    public struct Plan: Sendable {
        public var generation: Generation
        public var segments: [(name: String, segment: BackupLayout.SegmentName)]
        /// The latest time the restore reaches: the last segment's, else the snapshot's.
        public var reaches: Double
    }

    /// The newest generation whose snapshot is complete and was taken at or before `at` (nil:
    /// the newest of all), with its segments read at or before `at`, in order.
    public func plan(at: Double?) -> Plan? {
        guard
            let g = generations.last(where: { $0.manifest != nil && $0.snapshot != nil && $0.time <= (at ?? .infinity) }
            )
        else { return nil }
        var segments: [(name: String, segment: BackupLayout.SegmentName)] = []
        for s in g.segments {
            if let at, s.segment.time > at { break }
            segments.append(s)
        }
        return Plan(generation: g, segments: segments, reaches: segments.last?.segment.time ?? g.time)
    }

    /// The generations retention removes at `now`: one whose successor (complete) began
    /// `retention` seconds ago or earlier is no longer needed for any point in the window; one
    /// without a manifest is a snapshot that never finished. The generation being written is kept.
    public func expired(now: Double, retention: Double, current: String?) -> [Generation] {
        var out: [Generation] = []
        var nextComplete: Double?
        for g in generations.reversed() {
            if g.name == current {
                if g.manifest != nil { nextComplete = g.time }
                continue
            }
            if g.manifest == nil {
                if g.time < now - 600 { out.append(g) }
                continue
            }
            if let next = nextComplete, next <= now - retention { out.append(g) }
            nextComplete = g.time
        }
        return out.reversed()
    }

    /// Reads a whole object (at most `limit` bytes) and checks its SHA-256.
    public static func read(zone: any NamedObjectZone, bucket: String, name: String, sha256: String, limit: Int)
        throws -> [UInt8]
    {
        let reader = try zone.openNamed(backendBucket: bucket, name: name)
        guard let bytes = try reader.readAll(limit: limit) else {
            throw StoreError.internalFailure("\(name): larger than \(limit) bytes")
        }
        guard sha256Hex(bytes) == sha256 else { throw StoreError.internalFailure("\(name): SHA-256 mismatch") }
        return bytes
    }
}
