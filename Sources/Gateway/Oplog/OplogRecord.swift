import Foundation
import GatewayCore

/// One line of the operations log as a query reads it back (and the admin API answers it):
/// the fields `OplogLine` writes, snake_case in JSON, absent ones nil.
public struct OplogRecord: Codable, Sendable, Equatable {
    public var time: String
    public var requestId: String?
    public var origin: String?
    public var tenant: String?
    public var accessKeyId: String?
    public var operation: String?
    public var method: String?
    public var bucket: String?
    /// The bucket's tenant (absent in lines written before it was recorded).
    public var bucketTenant: String?
    public var key: String?
    public var status: Int
    public var errorCode: String?
    public var authFailure: String?
    public var bytesIn: Int64?
    public var bytesOut: Int64?
    public var latencyMs: Double?
    public var zones: [String]?
    public var clientIp: String?
    public var userAgent: String?

    /// Seconds since 1970 of `time` (nil when it is not the log's own format).
    public var started: Double? { HTTPDate.parseISO8601(time) }

    private static let decoder = AdminJSON.decoder

    /// A line of the log (without its `\n`); nil for one that is not a record (a line torn by
    /// a full disk, a file someone edited).
    public static func parse(_ line: UnsafeRawBufferPointer) -> OplogRecord? {
        try? decoder.decode(OplogRecord.self, from: Data(line))
    }
}
