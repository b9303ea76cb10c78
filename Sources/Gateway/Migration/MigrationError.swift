/// Why a plan or a run cannot be made, in words for the person who asked.
public struct MigrationError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case invalidArgument = "InvalidArgument"
        case notFound = "NotFound"
        case accessDenied = "AccessDenied"
        case conflict = "Conflict"
        case sourceFailed = "SourceFailed"
        /// The source endpoint is not in `[discovery] endpoints`.
        case endpointNotAllowed = "EndpointNotAllowed"
        /// This process carries as many runs as it may.
        case busy = "SlowDown"
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
