import Foundation

/// The JSON shape of plans, runs and their reports: the snapshots' (snake_case keys, RFC 3339
/// dates, sorted keys).
public enum MigrationJSON {
    public static func encoder() -> JSONEncoder { SnapshotJSON.encoder() }
    public static func decoder() -> JSONDecoder { SnapshotJSON.decoder() }
}
