import Foundation
import GatewayCore

/// Version 1 of the sanitized discovery snapshot, as docs/snapshot.schema.json describes it and
/// docs/SNAPSHOTS.md explains. Any change to what a file holds makes a new version (SnapshotReader
/// says how an older one is read); this type then stays as it is so v1 files keep decoding.
public struct SnapshotV1: Codable, Sendable, Equatable {
    public static let version = 1

    public var schemaVersion: Int
    public var snapshot: Metadata
    public var buckets: [Bucket]

    public struct Metadata: Codable, Sendable, Equatable {
        public var id: String
        public var createdAt: Date
        public var source: Source
        public var sanitization: SanitizationLevel
        /// How many "/"-separated segments the prefixes in `top_prefixes` have at most.
        public var prefixDepth: Int
    }

    /// Where the inventory was read: a host and a region, never a URL (a URL may carry user
    /// info or a signature in its query).
    public struct Source: Codable, Sendable, Equatable {
        public var endpointHost: String
        public var region: String

        /// The host (and a port other than the scheme's) of `endpoint`; nil when it is not
        /// `http(s)://host[:port]`, so nothing else a URL may carry (user info, a signed query)
        /// can reach a snapshot.
        public init?(endpoint: String, region: String) {
            guard let url = try? EndpointURL.parse(endpoint) else { return nil }
            endpointHost = url.hostPort
            self.region = region
        }
    }

    /// One bucket feature's state as far as the credentials could read it.
    public enum Status: String, Codable, Sendable, Equatable {
        case enabled, disabled, unknown
        /// Versioning only.
        case suspended
    }

    public struct Statuses: Codable, Sendable, Equatable {
        public var versioning: Status = .unknown
        public var encryption: Status = .unknown
        public var lifecycle: Status = .unknown
        public var replication: Status = .unknown
        public var objectLock: Status = .unknown
        public var policy: Status = .unknown
        public init() {}
    }

    /// Whether `summary` covers the whole bucket.
    public enum Listing: String, Codable, Sendable, Equatable {
        case complete
        case accessDenied = "access_denied"
        /// Cancelled or failed part way: the summary covers what was listed.
        case incomplete
    }

    public struct Bucket: Codable, Sendable, Equatable {
        public var name: String
        public var region: String
        /// Absent at the `prefixes` level.
        public var objects: [Object]?
        public var listing: Listing
        public var statuses: Statuses
        public var summary: BucketSummary
    }

    public struct Object: Codable, Sendable, Equatable {
        /// As it is, or its keyed hash at the `hashed` level.
        public var key: String
        public var size: Int64
        public var storageClass: String
        public var lastModified: Date
        public var etag: String
    }

    public struct BucketSummary: Codable, Sendable, Equatable {
        public var objectCount: Int64
        public var totalBytes: Int64
        public var storageClasses: [StorageClassUsage]
        public var sizeHistogram: [SizeBucket]
        public var lastModified: [MonthUsage]
        public var topPrefixes: [PrefixUsage]
    }

    public struct StorageClassUsage: Codable, Sendable, Equatable {
        public var storageClass: String
        public var objects: Int64
        public var bytes: Int64
    }

    /// Objects with `min_bytes <= size < max_bytes` (no upper bound when `max_bytes` is null).
    public struct SizeBucket: Codable, Sendable, Equatable {
        public var minBytes: Int64
        public var maxBytes: Int64?
        public var objects: Int64
        public var bytes: Int64

        public func encode(to encoder: any Encoder) throws {
            // max_bytes is written as null rather than left out: the histogram has a fixed shape.
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(minBytes, forKey: .minBytes)
            try c.encode(maxBytes, forKey: .maxBytes)
            try c.encode(objects, forKey: .objects)
            try c.encode(bytes, forKey: .bytes)
        }
    }

    /// Objects last modified in one calendar month (UTC), "YYYY-MM".
    public struct MonthUsage: Codable, Sendable, Equatable {
        public var month: String
        public var objects: Int64
        public var bytes: Int64
    }

    /// A prefix's usage from a bounded table: the true values lie in
    /// `[bytes - bytes_error, bytes]` and `[objects - objects_error, objects]` (both errors are 0
    /// unless the bucket had more distinct prefixes than the table holds).
    public struct PrefixUsage: Codable, Sendable, Equatable {
        public var prefix: String
        public var objects: Int64
        public var bytes: Int64
        public var objectsError: Int64
        public var bytesError: Int64
    }
}

/// The one JSON shape of snapshot files: snake_case keys, RFC 3339 UTC dates, slashes unescaped.
enum SnapshotJSON {
    static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.dateEncodingStrategy = .iso8601
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }

    static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        d.dateDecodingStrategy = .iso8601
        return d
    }
}
