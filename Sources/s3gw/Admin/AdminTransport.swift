import Foundation
import Gateway
import GatewayCore

/// One admin API call as the CLI builds it: what `AdminRequest` holds minus who asks and when,
/// which the transport supplies (the local operator, or the signature of a remote call).
struct AdminCall {
    /// The JSON APIs the CLI calls: the admin API (`/admin/`) and the web API (`/api/`, snapshots
    /// and migrations), the same request shape and signature either way.
    enum API: String {
        case admin
        case web = "api"
    }

    var method: String
    var api = API.admin
    /// Path segments after `/admin/` (or `/api/`), not encoded: ["tenants", "acme", "users"].
    var path: [String]
    var query: [String: String] = [:]
    /// A JSON document, or empty.
    var body: [UInt8] = []
    /// Seconds a remote call may take, when longer than usual: calls that do their work while
    /// the request waits (an audit reading every zone, a bucket's repair).
    var timeout: Double?

    /// An hour: what nginx gives a request to answer.
    static let longTimeout: Double = 3600

    init(_ method: String, _ path: [String], query: [String: String] = [:], api: API = .admin) {
        self.method = method
        self.path = path
        self.query = query
        self.api = api
    }

    /// A call with `body` encoded the way the API reads it (snake_case keys).
    init(_ method: String, _ path: [String], json body: some Encodable) {
        self.init(method, path)
        // Encoding the CLI's own plain request types cannot fail.
        self.body = Array((try? AdminJSON.encoder.encode(body)) ?? Data("{}".utf8))
    }
}

/// The API's answer: a status and a JSON document (empty for 204).
struct AdminReply {
    var status: Int
    var body: [UInt8]
}

/// Why a call did not succeed, as the operator sees it: `s3gw: <code>: <message>`.
struct AdminFailure: Error {
    let code: String
    let message: String
}

/// Where admin calls go: in-process on the gateway host, or over HTTP(S) to a gateway's admin
/// API. Both answer the same call with the same reply, so each command is written once.
protocol AdminTransport {
    func send(_ call: AdminCall) throws(AdminFailure) -> AdminReply
    /// A call whose successful answer may be long (a snapshot download): a 2xx body is streamed
    /// into `sink`, never held whole; any other answer comes back in the reply.
    func download(_ call: AdminCall, into sink: any ByteSink) throws(AdminFailure) -> AdminReply
}

extension AdminTransport {
    /// For transports whose answers are small anyway (the tests' recorders).
    func download(_ call: AdminCall, into sink: any ByteSink) throws(AdminFailure) -> AdminReply {
        let reply = try send(call)
        guard (200..<300).contains(reply.status) else { return reply }
        do {
            try reply.body.withUnsafeBytes { try sink.write($0) }
        } catch {
            throw AdminFailure(code: "WriteFailed", message: "\(error)")
        }
        return AdminReply(status: reply.status, body: [])
    }
}
