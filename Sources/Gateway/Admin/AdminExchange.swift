import Foundation
import GatewayCore

/// One admin API call, transport-neutral: the HTTP path under `/admin/` and the CLI on the
/// gateway host build the same value and get the same answer (one implementation of each
/// operation behind both).
public struct AdminRequest: Sendable {
    public var method: String
    /// Percent-decoded path segments after `/admin/`: ["tenants", "acme", "users"].
    public var path: [String]
    public var query: [String: String]
    /// The JSON body (empty when none).
    public var body: [UInt8]
    public var principal: Principal
    public var now: Double
    /// The session token the request carried (temporary credentials): what a job acting for the
    /// caller long after the request needs to check the credential again.
    public var sessionToken: String?

    public init(
        method: String, path: [String], query: [String: String] = [:], body: [UInt8] = [], principal: Principal,
        now: Double, sessionToken: String? = nil
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.body = body
        self.principal = principal
        self.now = now
        self.sessionToken = sessionToken
    }

    /// The body decoded as `T` (snake_case keys); `InvalidRequest` naming what is wrong.
    public func decode<T: Decodable>(_ type: T.Type) throws(AdminError) -> T {
        do {
            return try AdminJSON.decoder.decode(T.self, from: Data(body.isEmpty ? Array("{}".utf8) : body))
        } catch let DecodingError.keyNotFound(key, _) {
            throw .invalid("the body lacks \"\(key.stringValue)\"")
        } catch let DecodingError.typeMismatch(_, c), let DecodingError.valueNotFound(_, c) {
            throw .invalid("\"\(c.codingPath.map(\.stringValue).joined(separator: "."))\" has the wrong type")
        } catch {
            throw .invalid("the body is not valid JSON")
        }
    }

    /// `?limit=` (1…1000, default 100) and `?marker=` of list endpoints.
    public func page() throws(AdminError) -> (marker: String, limit: Int) {
        var limit = 100
        if let l = query["limit"] {
            guard let n = Int(l), (1...1000).contains(n) else { throw .invalid("limit must be 1 to 1000") }
            limit = n
        }
        return (query["marker"] ?? "", limit)
    }
}

/// What an admin call answers: a status and a JSON document.
public struct AdminResponse: Sendable {
    public var status: Int
    public var body: [UInt8]
    /// Headers beside Content-Type (Allow on a 405).
    public var headers: [(name: String, value: String)] = []
    /// A file streamed as the body instead of `body` (a snapshot download): the transport opens
    /// and streams it, so no answer is ever held whole in memory.
    public var file: FileBody?

    public init(status: Int = 200, body: [UInt8], headers: [(name: String, value: String)] = []) {
        self.status = status
        self.body = body
        self.headers = headers
    }

    /// A file to stream, as it is or gzip-compressed on the way.
    public struct FileBody: Sendable, Equatable {
        public var path: String
        public var gzip: Bool
        public init(path: String, gzip: Bool) {
            self.path = path
            self.gzip = gzip
        }
    }

    public static func json<T: Encodable>(_ value: T, status: Int = 200) -> AdminResponse {
        // Encoding our own view types cannot fail.
        AdminResponse(status: status, body: Array((try? AdminJSON.encoder.encode(value)) ?? Data("{}".utf8)))
    }

    public static let noContent = AdminResponse(status: 204, body: [])
}

/// A list endpoint's answer: one page of items, and the marker of the next page (nil at the end).
public struct AdminPage<T: Encodable>: Encodable {
    public var items: [T]
    public var nextMarker: String?

    /// `fetched` holds up to limit+1 items: the extra one only says there is more.
    public init(_ fetched: [T], limit: Int, marker: (T) -> String) {
        items = Array(fetched.prefix(limit))
        nextMarker = fetched.count > limit ? items.last.map(marker) : nil
    }
}

/// Admin API errors: JSON `{"code": …, "message": …}` with a stable code.
public struct AdminError: Error, Sendable, Equatable {
    public let status: Int
    public let code: String
    public let message: String

    public init(status: Int, code: String, message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public static func invalid(_ m: String) -> AdminError {
        AdminError(status: 400, code: "InvalidRequest", message: m)
    }
    public static func notFound(_ m: String) -> AdminError { AdminError(status: 404, code: "NotFound", message: m) }
    public static func conflict(_ m: String) -> AdminError { AdminError(status: 409, code: "Conflict", message: m) }
    public static let accessDenied = AdminError(status: 403, code: "AccessDenied", message: "Access Denied")
    public static let methodNotAllowed = AdminError(
        status: 405, code: "MethodNotAllowed", message: "The method is not allowed on this resource.")
    public static let internalError = AdminError(
        status: 500, code: "InternalError", message: "We encountered an internal error. Please try again.")
    /// A request body past `AdminAPI.maxBody`.
    public static let bodyTooLarge = AdminError(
        status: 413, code: "EntityTooLarge", message: "request bodies are at most 1 MiB")

    /// An S3 error (a signature check's, say) as an admin error: same status, code and message.
    public init(_ e: S3Error) {
        self.init(status: e.code.status, code: e.code.code, message: e.message)
    }

    /// Store failures as administrators see them; internal ones never leak their text.
    public static func from(_ e: StoreError) -> AdminError {
        switch e {
        case .noSuchEntity(let what): return .notFound("\(what) does not exist")
        case .entityExists(let what): return .conflict("\(what) already exists")
        case .entityInUse(let what): return .conflict(what)
        case .noSuchBucket: return .notFound("the bucket does not exist")
        case .noSuchKey: return .notFound("the object does not exist")
        case .conflict: return .conflict("a concurrent change won; try again")
        case .zoneUnavailable:
            return AdminError(status: 503, code: "ServiceUnavailable", message: "a zone is unavailable")
        default: return .internalError
        }
    }

    public var json: [UInt8] {
        Array((try? AdminJSON.encoder.encode(["code": code, "message": message])) ?? Data())
    }
}

public enum AdminJSON {
    public static var encoder: JSONEncoder {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.outputFormatting = [.sortedKeys]
        return e
    }

    public static var decoder: JSONDecoder {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        return d
    }
}
