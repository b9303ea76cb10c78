import Foundation
import GatewayCore
import SigV4

#if canImport(Glibc)
    import Glibc
#endif

/// `s3gw metadata restore` (docs/METADATA.md, "Backup and restore (SQLite)"): the plan's
/// snapshot, checked against its manifest, then its segments replayed in order.
public enum MetadataRestore {
    /// Writes the restored database to `path` (which must not exist); returns the frames replayed.
    /// `keys`: the master key ring (`BackupSealing.ring`), one of which sealed the generation.
    /// `replay` makes the database-specific replayer for the snapshot at a path and its WAL position.
    public static func rebuild(
        _ plan: BackupCatalog.Plan, into path: String, zone: any NamedObjectZone, bucket: String,
        installation: String, keys: [BackupSealing], replay: (String, [UInt8]) throws -> any WALReplay
    ) throws -> Int {
        guard let manifestName = plan.generation.manifest else { throw StoreError.internalFailure("no manifest") }
        guard let sealedManifest = try zone.openNamed(backendBucket: bucket, name: manifestName).readAll(limit: 1 << 20)
        else { throw StoreError.internalFailure("\(manifestName): larger than 1 MiB") }
        // The key that opens the manifest sealed the whole generation.
        guard
            let (sealing, manifestBytes) = keys.lazy.compactMap({ k in (try? k.open(sealedManifest)).map { (k, $0) } })
                .first
        else {
            throw StoreError.internalFailure(
                "\(manifestName) opens with no master key of this host (keys \(keys.map(\.keyID).joined(separator: ", ")))"
            )
        }
        guard let manifest = try? JSONDecoder().decode(BackupManifest.self, from: Data(manifestBytes)),
            manifest.installation == installation, manifest.generation == plan.generation.name,
            let position = hexDecode(manifest.walPosition)
        else { throw StoreError.internalFailure("\(manifestName): not a manifest of this generation") }
        let reader = try zone.openNamed(backendBucket: bucket, name: manifest.snapshot)
        let stored = HashingSource(reader)
        let plain = try sealing.opening(stored, storedSize: reader.size)
        let fd = try systemCall("create \(path)") { open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600) }
        do {
            defer { close(fd) }
            _ = try pump(plain, into: FileDescriptorSink(fd: fd, path: path))
            try systemCall("fsync \(path)") { fsync(fd) }
        }
        guard stored.count == manifest.size, hexEncode(stored.digest.finalize()) == manifest.sha256 else {
            throw StoreError.internalFailure("\(manifest.snapshot): size or SHA-256 does not match the manifest")
        }
        let replayer = try replay(path, position)
        for s in plan.segments {
            let bytes = try sealing.open(
                try BackupCatalog.read(
                    zone: zone, bucket: bucket, name: s.name, sha256: s.segment.sha256, limit: 1 << 30))
            if s.segment.end { try replayer.endWAL(bytes) } else { try replayer.append(bytes) }
        }
        try replayer.finish()
        return replayer.frames
    }
}

/// Counts and hashes (SHA-256) the stored bytes passing through.
private final class HashingSource: ByteSource {
    let source: any ByteSource
    var digest = Digest(.sha256)
    var count: Int64 = 0
    init(_ source: any ByteSource) { self.source = source }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = try source.read(into: buffer)
        digest.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        count += Int64(n)
        return n
    }
}
