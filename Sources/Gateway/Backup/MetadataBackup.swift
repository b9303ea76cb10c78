import Foundation
import GatewayCore
import Logging
import SigV4

#if canImport(Glibc)
    import Glibc
#endif

/// Continuous backup of the embedded metadata store (docs/METADATA.md, "Backup and restore
/// (SQLite)"), one `step` every `wal_interval` on the agent's backup thread: a snapshot starts
/// each generation (at start, after `snapshot_interval`, and whenever the source cannot vouch
/// for an unbroken chain), new transactions go up as WAL segments in order, the WAL is
/// checkpointed when large, old generations go after `retention`.
public final class MetadataBackup {
    let source: any WALBackupSource
    let zone: any NamedObjectZone
    /// What new generations are sealed with (`BackupSealing`: the current master key).
    let newSealing: BackupSealing
    /// The current generation's (a generation keeps the key it began with).
    private var sealing: BackupSealing
    let settings: BackupSettings
    public let installation: String
    let tempDir: String
    let clock: any Clock
    let logger: Logger
    public private(set) var generation: String?
    private var generationStarted = 0.0
    /// Segments read but not uploaded yet, oldest first (a zone that failed gets them next step).
    private var pending: [(generation: String, segment: WALSegment, time: Double)] = []
    private var nextRetention = 0.0
    /// The name of the current generation's last segment uploaded.
    private var lastUploaded: String?
    /// Past this many bytes waiting, the generation is given up (and the WAL checkpointed).
    static let pendingLimit = 256 << 20

    public private(set) var stats = Stats()
    public struct Stats: Sendable {
        public var snapshots = 0
        public var segments = 0
        public var segmentBytes: Int64 = 0
        public var lastSnapshotBytes: Int64 = 0
        public var lastSnapshotSeconds = 0.0
        /// Seconds from a segment's read to its upload, the last one.
        public var lastSegmentLag = 0.0
    }

    /// Where the generation's progress is kept for the next process (an agent replaced on reload
    /// goes on with the generation instead of taking a new snapshot); nil: not kept.
    let resumeFile: String?
    private var triedResume = false
    /// Whether `resumeFile` may exist (true until the first removal: a previous process's).
    private var resumeSaved = true

    public init(
        source: any WALBackupSource, zone: any NamedObjectZone, settings: BackupSettings, installation: String,
        sealing: BackupSealing, tempDir: String, clock: any Clock, logger: Logger, resumeFile: String? = nil
    ) {
        self.resumeFile = resumeFile
        newSealing = sealing
        self.sealing = sealing
        self.source = source
        self.zone = zone
        self.settings = settings
        self.installation = installation
        self.tempDir = tempDir
        self.clock = clock
        self.logger = logger
    }

    /// One round; throws when the zone failed (the next round tries again from where it was).
    public func step() throws {
        let now = clock.now()
        if !triedResume {
            triedResume = true
            resume()
        }
        if generation == nil || now - generationStarted >= Double(settings.snapshotInterval) {
            do {
                try startGeneration()
            } catch {
                // No generation to keep whole: the WAL must not grow while the zone is away.
                try? source.checkpointAbandoningGeneration()
                throw error
            }
        }
        guard let gen = generation else { return }
        // What is consumed from here on is in no resume point until it is uploaded: a process
        // killed before that must not resume past frames it never shipped.
        forgetResumePoint()
        do {
            while pendingBytes <= Self.pendingLimit, let s = try source.nextSegment() {
                pending.append((gen, s, clock.now()))
            }
            if source.wantsCheckpoint {
                if pendingBytes > Self.pendingLimit {
                    logger.error("metadata backup: \(pendingBytes) bytes not uploaded; this generation ends here")
                    pending.removeAll()
                    generation = nil
                    try source.checkpointAbandoningGeneration()
                } else {
                    for s in try source.checkpoint() { pending.append((gen, s, clock.now())) }
                }
            }
        } catch let broken as WALBackupBroken {
            logger.warning("metadata backup: a new generation starts: \(broken.reason)")
            generation = nil
        }
        try flush()
        saveResumePoint()
        if clock.now() >= nextRetention {
            nextRetention = clock.now() + 60
            try applyRetention()
        }
    }

    /// Uploads what is pending; on the way out, the last transactions.
    public func flush() throws {
        while let first = pending.first {
            let s = first.segment
            let sealed = try sealing.seal(s.bytes)
            let name = BackupLayout.segment(
                installation, first.generation,
                .init(index: s.index, offset: s.offset, time: first.time, sha256: sha256Hex(sealed), end: s.endsWAL))
            try put(name, sealed)
            if first.generation == generation { lastUploaded = name }
            pending.removeFirst()
            stats.segments += 1
            stats.segmentBytes += Int64(s.bytes.count)
            stats.lastSegmentLag = clock.now() - first.time
        }
    }

    /// What the next process needs to go on: this generation, and where the source stands —
    /// written only after a flush left nothing pending, so it is exactly where the last segment
    /// uploaded ends (and removed before the source is read again).
    struct ResumePoint: Codable {
        var installation: String
        var generation: String
        var point: String
        /// The generation's last segment uploaded (nil: none yet).
        var lastSegment: String?
        /// The master key id the generation is sealed with.
        var key: String?
    }

    private func saveResumePoint() {
        guard let resumeFile, pending.isEmpty, let generation, let point = source.resumePoint else { return }
        do {
            let data = try JSONEncoder().encode(
                ResumePoint(
                    installation: installation, generation: generation, point: hexEncode(point),
                    lastSegment: lastUploaded, key: sealing.keyID))
            let tmp = resumeFile + ".tmp"
            try data.write(to: URL(fileURLWithPath: tmp))
            try systemCall("rename \(tmp)") { rename(tmp, resumeFile) }
            resumeSaved = true
        } catch {
            logger.warning("metadata backup: cannot record where it stands (a restart takes a new snapshot): \(error)")
        }
    }

    private func forgetResumePoint() {
        guard let resumeFile, resumeSaved else { return }
        // Failing that, the file would name a point behind what is about to be consumed.
        if unlink(resumeFile) != 0 && errno != ENOENT {
            logger.error("metadata backup: cannot remove \(resumeFile): \(String(cString: strerror(errno)))")
        }
        resumeSaved = false
    }

    /// Goes on with the generation a previous process left, if the bucket's last segment of it
    /// ends exactly where that process recorded and the WAL still holds what it took up to there.
    private func resume() {
        guard let resumeFile else { return }
        let data = FileManager.default.contents(atPath: resumeFile)
        forgetResumePoint()
        guard let data else { return }
        do {
            guard let saved = try? JSONDecoder().decode(ResumePoint.self, from: data),
                saved.installation == installation, let point = hexDecode(saved.point),
                // A rotated master key: the next generation is sealed with the new one.
                saved.key == newSealing.keyID,
                let started = BackupLayout.generationTime(saved.generation)
            else { return }
            let catalog = try BackupCatalog.load(zone: zone, bucket: settings.bucket, installation: installation)
            guard let g = catalog.generations.first(where: { $0.name == saved.generation }), g.manifest != nil else {
                return
            }
            guard g.segments.last?.name == saved.lastSegment else { return }
            guard try source.resume(point) else { return }
            generation = saved.generation
            generationStarted = started
            lastUploaded = saved.lastSegment
            logger.info("metadata backup: generation \(saved.generation) goes on")
        } catch {
            logger.warning("metadata backup: the previous generation cannot go on: \(error)")
        }
    }

    private var pendingBytes: Int { pending.reduce(0) { $0 + $1.segment.bytes.count } }

    private func startGeneration() throws {
        generation = nil
        forgetResumePoint()
        let started = clock.now()
        try StateDirectory.makeDirectory(tempDir, in: tempDir)
        let path = tempDir + "/snapshot-\(getpid()).db"
        defer { unlink(path) }
        let sealedPath = path + ".sealed"
        defer { unlink(sealedPath) }
        let info = try source.beginGeneration(snapshotPath: path)
        // Stamped after the snapshot's read began: it holds nothing committed later.
        let created = clock.now()
        let gen = BackupLayout.newGeneration(at: created)
        // Sealed into a file first: the name carries the SHA-256 of the bytes stored.
        try Self.sealFile(path, into: sealedPath, with: newSealing)
        unlink(path)
        let (size, sha) = try Self.hashFile(sealedPath)
        let snapshotName = BackupLayout.snapshot(installation, gen, sha256: sha)
        // Past 1 GiB as a multipart upload (length unknown to the zone): one PUT stops at 5 GiB.
        let writer = try zone.beginNamedWrite(
            backendBucket: settings.bucket, name: snapshotName, length: size > 1 << 30 ? nil : size)
        do {
            try Self.copyFile(sealedPath, into: writer)
            _ = try writer.commit()
        } catch {
            writer.abort()
            throw error
        }
        let manifest = BackupManifest(
            installation: installation, generation: gen, created: created, snapshot: snapshotName, size: size,
            sha256: sha, pageSize: info.pageSize, pages: info.pages, walPosition: hexEncode(info.walPosition),
            key: newSealing.keyID)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try put(BackupLayout.manifest(installation, gen), try newSealing.seal(Array(try encoder.encode(manifest))))
        sealing = newSealing
        generation = gen
        generationStarted = created
        lastUploaded = nil
        // The snapshot's WAL ended where it was taken: the next WAL may start over.
        if let marker = info.endMarker { pending.append((gen, marker, created)) }
        stats.snapshots += 1
        stats.lastSnapshotBytes = size
        stats.lastSnapshotSeconds = clock.now() - started
        logger.info(
            "metadata backup: generation \(gen): snapshot of \(size) bytes in \(String(format: "%.2f", stats.lastSnapshotSeconds)) s"
        )
    }

    /// Lists only `snapshots/` (a few objects per generation), and the segments of a generation
    /// it removes: not every segment of the retention window each minute.
    private func applyRetention() throws {
        let catalog = BackupCatalog(
            installation: installation,
            objects: try zone.listAllNamed(backendBucket: settings.bucket, prefix: BackupLayout.snapshots(installation))
        )
        let busy = Set(pending.map(\.generation))
        for g in catalog.expired(now: clock.now(), retention: Double(settings.retention), current: generation)
        where !busy.contains(g.name) {
            let segments = try zone.listAllNamed(
                backendBucket: settings.bucket, prefix: BackupLayout.wal(installation) + g.name + "/")
            // The manifest first: a generation half removed is one no restore picks. The snapshot
            // last: a removal cut short leaves a generation without a manifest, removed again later.
            let names =
                (g.manifest.map { [$0] } ?? []) + segments.map(\.id) + g.objects.filter { $0 != g.manifest }
            for name in names {
                try zone.deleteNamed(backendBucket: settings.bucket, name: name)
            }
            logger.info("metadata backup: generation \(g.name) removed (retention)")
        }
    }

    private func put(_ name: String, _ bytes: [UInt8]) throws {
        try zone.beginNamedWrite(backendBucket: settings.bucket, name: name, length: Int64(bytes.count))
            .commit(bytes: bytes)
    }

    static func hashFile(_ path: String) throws -> (Int64, String) {
        let sink = DigestSink()
        try copyFile(path, into: sink)
        return (sink.count, hexEncode(sink.digest.finalize()))
    }

    static func copyFile(_ path: String, into sink: any ByteSink) throws {
        guard let file = FileSource(path: path) else { throw SystemCallError(call: "open \(path)", errno: ENOENT) }
        _ = try pump(file, into: sink, bufferSize: 1 << 20)
    }

    static func sealFile(_ path: String, into sealedPath: String, with sealing: BackupSealing) throws {
        let fd = try systemCall("create \(sealedPath)") {
            open(sealedPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        }
        defer { close(fd) }
        let sink = sealing.sealing(into: FileDescriptorSink(fd: fd, path: sealedPath))
        try copyFile(path, into: sink)
        try sink.finish()
    }
}

/// Counts and hashes (SHA-256) what is written.
private final class DigestSink: ByteSink {
    var digest = Digest(.sha256)
    var count: Int64 = 0
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        digest.update(bytes)
        count += Int64(bytes.count)
    }
}
