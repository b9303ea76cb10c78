import GatewayCore
import Logging
import SigV4

extension S3Gateway {
    /// A request of one of the JSON APIs over HTTP — the admin API (`/admin/`, errors
    /// `{"code", "message"}`, no temporary credentials: keys a session could mint would outlive
    /// it) or the web API (`/api/`, errors `{"error": {…}}`, temporary credentials welcome). The
    /// body is read first (signers such as botocore's SigV4Auth sign its hash without sending
    /// it), the signature and the principal are checked — presigned URLs only where the route
    /// allows them — and every answer, errors included, is JSON, except a file answer, which
    /// streams. Returns the status sent.
    func handleJSON(
        _ table: RouteTable, errorBody: (AdminError) -> [UInt8], acceptsSessions: Bool, head: RequestHead,
        body: any ByteSource, requestId: String, now: Double, to sink: any ResponseSink, logger: Logger
    ) -> Int {
        var answer: AdminResponse
        do {
            answer = try jsonAnswer(table, errorBody: errorBody, acceptsSessions: acceptsSessions, head, body, now)
        } catch let e as AdminError {
            RequestTrace.current?.errorCode = e.code
            answer = AdminResponse(status: e.status, body: errorBody(e))
        } catch {
            let s3 = Self.s3Error(error, logger: logger)
            RequestTrace.current?.errorCode = s3.code.code
            answer = AdminResponse(status: s3.code.status, body: errorBody(AdminError(s3)))
        }
        if let file = answer.file {
            return sendFile(
                file, answer, head: head, requestId: requestId, to: sink, errorBody: errorBody, logger: logger)
        }
        _ = try? send(Self.jsonResponse(answer), head: head, requestId: requestId, to: sink)
        return answer.status
    }

    /// An admin answer as the response sent: JSON unless the answer names its own type.
    static func jsonResponse(_ answer: AdminResponse) -> S3Response {
        S3Response(
            status: answer.status,
            headers: (answer.body.isEmpty || answer.headers.contains { $0.name == "Content-Type" }
                ? [] : [Header("Content-Type", "application/json")])
                + answer.headers.map { Header($0.name, $0.value) },
            body: answer.body.isEmpty ? .empty : .bytes(answer.body))
    }

    private func jsonAnswer(
        _ table: RouteTable, errorBody: (AdminError) -> [UInt8], acceptsSessions: Bool, _ head: RequestHead,
        _ body: any ByteSource, _ now: Double
    ) throws -> AdminResponse {
        guard let bytes = try body.readAll(limit: AdminAPI.maxBody) else {
            throw AdminError.bodyTooLarge
        }
        let path = try Self.jsonPath(head, root: table.root)
        let route = table.route(head.method, path)
        RequestTrace.current?.operation = route?.action ?? "\(head.method) /\(table.root)/"
        let presignable = head.method == "GET" && route?.presigned == true
        let (_, principal) = try verifySignedBody(
            head, bytes: bytes, service: "s3", now: now, presignedAllowed: presignable, doubleEncodedPath: true,
            anonymous: S3Error(.accessDenied), invalid: { S3Error(.invalidRequest, $0) })
        if principal.session != nil && !acceptsSessions {
            throw AdminError(
                status: 403, code: "AccessDenied", message: "Temporary credentials cannot use the /\(table.root)/ API")
        }
        let query = Self.jsonQuery(head)
        let token = Self.sessionToken(head)
        return table.dispatch(
            AdminRequest(
                method: head.method, path: path, query: query, body: bytes, principal: principal, now: now,
                sessionToken: token),
            ctx, errorBody: errorBody)
    }

    /// The path segments after `/root/`, percent-decoded.
    public static func jsonPath(_ head: RequestHead, root: String) throws(AdminError) -> [String] {
        var path: [String] = []
        for segment in head.rawPath.dropFirst(root.count + 1).split(separator: "/") {
            guard let s = percentDecode(String(segment)) else { throw AdminError.invalid("the path is not valid") }
            path.append(s)
        }
        return path
    }

    /// The query a JSON API route sees: the first value of each name, without the signature's
    /// `X-Amz-*` parameters.
    public static func jsonQuery(_ head: RequestHead) -> [String: String] {
        var query: [String: String] = [:]
        for item in head.queryItems where !item.name.lowercased().hasPrefix("x-amz-") && query[item.name] == nil {
            query[item.name] = item.value
        }
        return query
    }

    /// Streams a file answer: its own size as Content-Length, read in bounded chunks. The file
    /// may have gone since the handler saw it (deleted meanwhile): that is a 404 before the head.
    func sendFile(
        _ file: AdminResponse.FileBody, _ answer: AdminResponse, head: RequestHead, requestId: String,
        to sink: any ResponseSink, errorBody: (AdminError) -> [UInt8], logger: Logger
    ) -> Int {
        guard let source = FileSource(path: file.path) else {
            let e = AdminError.notFound("the file is gone")
            let response = S3Response(
                status: e.status, headers: [Header("Content-Type", "application/json")], body: .bytes(errorBody(e)))
            _ = try? send(response, head: head, requestId: requestId, to: sink)
            return e.status
        }
        // Compressed as it streams, a gzip answer's length is known only at the end: none is
        // sent (nginx frames the body).
        let length = file.gzip ? [] : [Header("Content-Length", String(source.size))]
        do {
            try sink.sendHead(
                status: answer.status,
                headers: answer.headers.map { Header($0.name, $0.value) } + length + [
                    Header("x-amz-request-id", requestId), Header("x-amz-id-2", requestId), Header("Server", "s3gw"),
                ])
            if head.method != "HEAD" { try source.copy(into: sink, gzip: file.gzip) }
        } catch {
            // The head is out: the client sees a body shorter than its Content-Length.
            logger.warning("download of \(head.rawPath) cut short: \(error)")
        }
        return answer.status
    }
}
