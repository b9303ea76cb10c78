import GatewayCore
import Logging
import SigV4

extension AdminAPI {
    /// `/admin` and everything under it belongs to the admin API when addressed path-style
    /// (CreateBucket refuses the name `admin`); a virtual-hosted request for a key `admin/…` is
    /// an S3 request on that bucket.
    public static func owns(_ rawPath: String, virtualHosted: Bool) -> Bool {
        !virtualHosted && (rawPath == "/admin" || rawPath.hasPrefix("/admin/") || rawPath.hasPrefix("/admin?"))
    }

    /// The bucket name the admin API's path shadows.
    public static let reservedBucketName = "admin"

    /// Admin bodies are small JSON documents.
    static let maxBody = 1 << 20
}

extension S3Gateway {
    /// An admin API request over HTTP: the body is read first (signers such as botocore's
    /// SigV4Auth sign its hash without sending it), the signature and the principal are checked,
    /// and every answer, errors included, is JSON. Returns the status sent.
    func handleAdmin(
        head: RequestHead, body: any ByteSource, requestId: String, now: Double, to sink: any ResponseSink,
        logger: Logger
    ) -> Int {
        let answer: AdminResponse
        do {
            answer = try adminAnswer(head: head, body: body, now: now)
        } catch let e as AdminError {
            answer = AdminResponse(status: e.status, body: e.json)
        } catch {
            let s3 = Self.s3Error(error, logger: logger)
            answer = AdminResponse(
                status: s3.code.status,
                body: AdminError(status: s3.code.status, code: s3.code.code, message: s3.message).json)
        }
        let response = S3Response(
            status: answer.status,
            headers: (answer.body.isEmpty ? [] : [Header("Content-Type", "application/json")])
                + answer.headers.map { Header($0.name, $0.value) },
            body: answer.body.isEmpty ? .empty : .bytes(answer.body))
        _ = try? send(response, head: head, requestId: requestId, to: sink)
        return answer.status
    }

    private func adminAnswer(head: RequestHead, body: any ByteSource, now: Double) throws -> AdminResponse {
        guard let bytes = try body.readAll(limit: AdminAPI.maxBody) else {
            throw AdminError(status: 413, code: "EntityTooLarge", message: "admin request bodies are at most 1 MiB")
        }
        let (_, principal) = try verifySignedBody(
            head, bytes: bytes, service: "s3", now: now, presignedAllowed: false, doubleEncodedPath: true,
            anonymous: S3Error(.accessDenied), invalid: { S3Error(.invalidRequest, $0) })
        if principal.session != nil {
            // A session must not outlive itself: keys it could mint would survive its expiry and
            // the revocation of its parent.
            throw AdminError(
                status: 403, code: "AccessDenied", message: "Temporary credentials cannot use the admin API")
        }
        var path: [String] = []
        for segment in head.rawPath.dropFirst("/admin".count).split(separator: "/") {
            guard let s = percentDecode(String(segment)) else { throw AdminError.invalid("the path is not valid") }
            path.append(s)
        }
        var query: [String: String] = [:]
        for item in head.queryItems where !item.name.hasPrefix("X-Amz-") && query[item.name] == nil {
            query[item.name] = item.value
        }
        return AdminAPI.dispatch(
            AdminRequest(method: head.method, path: path, query: query, body: bytes, principal: principal, now: now),
            ctx)
    }
}
