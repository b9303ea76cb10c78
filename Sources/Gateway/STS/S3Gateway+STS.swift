import GatewayCore
import Logging
import SigV4

extension S3Gateway {
    /// An STS call over HTTP: the body is read first (botocore and the aws CLI sign its hash
    /// without sending x-amz-content-sha256), the SigV4 signature must name service `sts`, and
    /// every answer, errors included, is STS's XML. Returns the status sent.
    func handleSTS(
        head: RequestHead, body: any ByteSource, requestId: String, now: Double, to sink: any ResponseSink,
        logger: Logger
    ) -> Int {
        let response: S3Response
        do {
            let xml = try stsAnswer(head: head, body: body, requestId: requestId, now: now)
            response = S3Response(
                status: 200, headers: [Header("Content-Type", "text/xml")], body: .bytes(Array(xml.utf8)))
        } catch {
            let e = STS.onTheWire(Self.s3Error(error, logger: logger))
            RequestTrace.current?.errorCode = e.code.code
            response = S3Response(
                status: e.code.status, headers: [Header("Content-Type", "text/xml")],
                body: .bytes(Array(STS.Response.error(e, requestId: requestId).utf8)))
        }
        _ = try? send(response, head: head, requestId: requestId, to: sink)
        return response.status
    }

    private func stsAnswer(head: RequestHead, body: any ByteSource, requestId: String, now: Double) throws -> String {
        guard let bytes = try body.readAll(limit: STS.maxBody) else {
            throw S3Error(.validationError, "STS requests are at most \(STS.maxBody) bytes")
        }
        // Presigned STS calls are AWS's too (they change nothing but mint a session).
        let (_, principal) = try verifySignedBody(
            head, bytes: bytes, service: "sts", now: now, presignedAllowed: true,
            anonymous: S3Error(.missingAuthenticationToken), invalid: { S3Error(.validationError, $0) })

        var params: [String: String] = [:]
        if head.method == "POST" && STS.isForm(head) {
            guard let fields = STS.formFields(String(decoding: bytes, as: UTF8.self)) else {
                throw S3Error(.validationError, "the request body is not valid application/x-www-form-urlencoded")
            }
            for f in fields where params[f.name] == nil { params[f.name] = f.value }
        }
        guard let query = STS.formFields(head.rawQuery) else {
            throw S3Error(.validationError, "the query string is not valid")
        }
        // A presigned call's signature parameters are not STS parameters.
        for f in query where params[f.name] == nil && !f.name.hasPrefix("X-Amz-") { params[f.name] = f.value }

        RequestTrace.current?.operation = params["Action"] ?? ""
        guard let action = params["Action"], !action.isEmpty else {
            throw S3Error(.invalidAction, "The request names no Action")
        }
        if let v = params["Version"], v != STS.version {
            throw S3Error(.invalidAction, "Could not find operation \(action) for version \(v)")
        }
        return try STS.dispatch(
            STSRequest(action: action, params: params, principal: principal, requestId: requestId, now: now), ctx)
    }
}
