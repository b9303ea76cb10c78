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
    /// `replay` makes the database-specific replayer for the snapshot at a path and its WAL position.
    public static func rebuild(
        _ plan: BackupCatalog.Plan, into path: String, zone: any NamedObjectZone, bucket: String,
        installation: String, replay: (String, [UInt8]) throws -> any WALReplay
    ) throws -> Int {
        guard let manifestName = plan.generation.manifest else { throw StoreError.internalFailure("no manifest") }
        let manifestBytes = try zone.openNamed(backendBucket: bucket, name: manifestName).readAll(limit: 1 << 20)
        guard let manifestBytes,
            let manifest = try? JSONDecoder().decode(BackupManifest.self, from: Data(manifestBytes)),
            manifest.installation == installation, manifest.generation == plan.generation.name,
            let position = hexDecode(manifest.walPosition)
        else { throw StoreError.internalFailure("\(manifestName): not a manifest of this generation") }
        let reader = try zone.openNamed(backendBucket: bucket, name: manifest.snapshot)
        let fd = try systemCall("create \(path)") { open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600) }
        var digest = Digest(.sha256)
        var size: Int64 = 0
        do {
            defer { close(fd) }
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            while true {
                let n = try buffer.withUnsafeMutableBytes { try reader.read(into: $0) }
                if n == 0 { break }
                try buffer.withUnsafeBytes { b throws in
                    let chunk = UnsafeRawBufferPointer(rebasing: b[0..<n])
                    digest.update(chunk)
                    var done = 0
                    while done < n {
                        let w = write(fd, chunk.baseAddress! + done, n - done)
                        if w < 0 && errno == EINTR { continue }
                        guard w > 0 else { throw SystemCallError(call: "write \(path)", errno: errno) }
                        done += w
                    }
                }
                size += Int64(n)
            }
            try systemCall("fsync \(path)") { fsync(fd) }
        }
        guard size == manifest.size, hexEncode(digest.finalize()) == manifest.sha256 else {
            throw StoreError.internalFailure("\(manifest.snapshot): size or SHA-256 does not match the manifest")
        }
        let replayer = try replay(path, position)
        for s in plan.segments {
            let bytes = try BackupCatalog.read(
                zone: zone, bucket: bucket, name: s.name, sha256: s.segment.sha256, limit: 1 << 30)
            if s.segment.end { try replayer.endWAL(bytes) } else { try replayer.append(bytes) }
        }
        try replayer.finish()
        return replayer.frames
    }
}
