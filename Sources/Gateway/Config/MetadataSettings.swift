import Foundation

/// `[metadata]`: where buckets, objects, jobs and the audit chain are kept (docs/METADATA.md).
/// The embedded default is one SQLite file in the state directory; several gateway hosts share
/// one PostgreSQL database instead.
public struct MetadataSettings: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case sqlite
        case postgres
    }

    public var kind = Kind.sqlite
    /// `path`: the SQLite file; nil: `<state_dir>/metadata.sqlite`.
    public var path: String?
    /// `url`: a libpq connection string or URI for PostgreSQL (several hosts and
    /// `target_session_attrs=read-write` allowed). Keep the password out of it: libpq reads
    /// `PGPASSFILE` / `~/.pgpass`, so the configuration file holds no secret.
    public var url = ""
    /// `bucket_cache`: each process keeps the bucket records it read while no process of the
    /// host changed one (SQLite only; docs/METADATA.md). Off during a rolling upgrade from a
    /// build without it, whose processes change buckets without saying so.
    public var bucketCache = true

    public init() {}

    /// Whether `url` spells out a password in its plain forms (`password=…`, or
    /// `postgresql://user:secret@host`): refused at load, as a configuration file is read by more
    /// people and tools than a password file. This is the early check with a line number; the
    /// one that decides is libpq's own parse (`PostgresConnection.refuseUnsafe`), before connecting.
    public var urlCarriesPassword: Bool {
        let lower = url.lowercased()
        if lower.contains("password=") { return true }
        guard let scheme = lower.range(of: "://") else { return false }
        let authority = lower[scheme.upperBound...].prefix { $0 != "/" && $0 != "?" }
        guard let at = authority.lastIndex(of: "@") else { return false }
        return authority[..<at].contains(":")
    }
}
