import Compression
import Foundation
import GatewayCore
import Logging
import SigV4

#if canImport(Glibc)
    import Glibc
#endif

extension S3Gateway {
    /// A web API request over HTTP: the body is read first (a signer may sign its hash without
    /// sending it), the signature and principal are checked — temporary credentials included,
    /// presigned URLs only where the route allows them — and every answer, errors included, is
    /// JSON, except a download, which streams its file. Returns the status sent.
    func handleWebAPI(
        head: RequestHead, body: any ByteSource, requestId: String, now: Double, to sink: any ResponseSink,
        logger: Logger
    ) -> Int {
        var answer: AdminResponse
        do {
            answer = try webAPIAnswer(head: head, body: body, now: now)
        } catch let e as AdminError {
            answer = AdminResponse(status: e.status, body: WebAPI.errorBody(e))
        } catch {
            let s3 = Self.s3Error(error, logger: logger)
            answer = AdminResponse(
                status: s3.code.status,
                body: WebAPI.errorBody(AdminError(status: s3.code.status, code: s3.code.code, message: s3.message)))
        }
        if let file = answer.file {
            return sendFile(file, answer, head: head, requestId: requestId, to: sink, logger: logger)
        }
        let response = S3Response(
            status: answer.status,
            headers: (answer.body.isEmpty ? [] : [Header("Content-Type", "application/json")])
                + answer.headers.map { Header($0.name, $0.value) },
            body: answer.body.isEmpty ? .empty : .bytes(answer.body))
        _ = try? send(response, head: head, requestId: requestId, to: sink)
        return answer.status
    }

    private func webAPIAnswer(head: RequestHead, body: any ByteSource, now: Double) throws -> AdminResponse {
        guard let bytes = try body.readAll(limit: AdminAPI.maxBody) else {
            throw AdminError(status: 413, code: "EntityTooLarge", message: "request bodies are at most 1 MiB")
        }
        var path: [String] = []
        for segment in head.rawPath.dropFirst("/api".count).split(separator: "/") {
            guard let s = percentDecode(String(segment)) else { throw AdminError.invalid("the path is not valid") }
            path.append(s)
        }
        let presignable = head.method == "GET" && WebAPI.table.route(head.method, path)?.presigned == true
        let (_, principal) = try verifySignedBody(
            head, bytes: bytes, service: "s3", now: now, presignedAllowed: presignable, doubleEncodedPath: true,
            anonymous: S3Error(.accessDenied), invalid: { S3Error(.invalidRequest, $0) })
        var query: [String: String] = [:]
        for item in head.queryItems where !item.name.lowercased().hasPrefix("x-amz-") && query[item.name] == nil {
            query[item.name] = item.value
        }
        return WebAPI.dispatch(
            AdminRequest(method: head.method, path: path, query: query, body: bytes, principal: principal, now: now),
            ctx)
    }

    /// Streams a file answer: its own size as Content-Length, read in bounded chunks. The file
    /// may have gone since the handler saw it (deleted meanwhile): that is a 404 before the head.
    private func sendFile(
        _ file: AdminResponse.FileBody, _ answer: AdminResponse, head: RequestHead, requestId: String,
        to sink: any ResponseSink, logger: Logger
    ) -> Int {
        guard let source = FileSource(path: file.path) else {
            let e = AdminError.notFound("the file is gone")
            let response = S3Response(
                status: e.status, headers: [Header("Content-Type", "application/json")],
                body: .bytes(WebAPI.errorBody(e)))
            _ = try? send(response, head: head, requestId: requestId, to: sink)
            return e.status
        }
        do {
            if file.gzip {
                // Compressed as it streams: the length is known only at the end, so none is sent
                // (nginx frames the body).
                try sink.sendHead(
                    status: answer.status,
                    headers: answer.headers.map { Header($0.name, $0.value) } + [
                        Header("x-amz-request-id", requestId), Header("Server", "s3gw"),
                    ])
                let gzip = try GzipSink(into: sink)
                try pump(source, into: gzip)
                try gzip.finish()
            } else {
                let response = S3Response(
                    status: answer.status,
                    headers: answer.headers.map { Header($0.name, $0.value) } + [
                        Header("Content-Length", String(source.size))
                    ],
                    body: .stream(source))
                _ = try send(response, head: head, requestId: requestId, to: sink)
            }
        } catch {
            // The head is out: the client sees a body shorter than its Content-Length.
            logger.warning("download of \(head.rawPath) cut short: \(error)")
        }
        return answer.status
    }
}

/// A file read in order, opened once: a delete while it streams does not cut it short.
final class FileSource: ByteSource {
    private let fd: Int32
    let size: Int64

    init?(path: String) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            return nil
        }
        self.fd = fd
        size = Int64(st.st_size)
    }

    deinit { close(fd) }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try systemCall("read") { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }
}
