import Foundation

/// Reads snapshot files by their `schema_version`.
///
/// Migration rule (docs/SNAPSHOTS.md): a reader of version N decodes N and N−1. Each version
/// keeps its own frozen model (`SnapshotV1`, later `SnapshotV2`, …) and a function that turns an
/// N−1 value into N, filling what the old version lacks with the documented "unknown" value;
/// `read` decodes with the model the file names and upgrades it. A version newer than N is
/// refused (never guessed at); versions older than N−1 are dropped with the model of N−2.
///
/// The whole file is decoded in memory: readers are the CLI and the planner, which want all of
/// it; streaming belongs to the writer, which runs beside a live listing.
public enum SnapshotReader {
    public enum Failure: Error, Equatable {
        case notASnapshot
        case unsupportedVersion(Int)
    }

    /// The newest version this reader writes and reads.
    public static let currentVersion = SnapshotV1.version

    public static func read(contentsOf url: URL) throws -> SnapshotV1 {
        try read(Data(contentsOf: url))
    }

    public static func read(_ data: Data) throws -> SnapshotV1 {
        struct Probe: Decodable { var schemaVersion: Int? }
        let decoder = SnapshotJSON.decoder()
        guard let probe = try? decoder.decode(Probe.self, from: data), let version = probe.schemaVersion else {
            throw Failure.notASnapshot
        }
        switch version {
        case SnapshotV1.version:
            return try decoder.decode(SnapshotV1.self, from: data)
        default:
            throw Failure.unsupportedVersion(version)
        }
    }
}
