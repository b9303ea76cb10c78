import GatewayCore
import SigV4

/// One streaming upload request (a PutObject or an UploadPart) of a length fixed up front,
/// framed into signed aws-chunks when the zone signs payloads.
final class S3Upload {
    let exchange: any HTTPExchange
    private var signer: ChunkSigner?

    init(exchange: any HTTPExchange, signer: ChunkSigner?) {
        self.exchange = exchange
        self.signer = signer
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        let exchange = self.exchange
        if signer != nil {
            try signer!.write(bytes) { try exchange.write($0) }
        } else {
            try exchange.write(bytes)
        }
    }

    /// Ends the body and returns the status, the (small) answer body and the ETag.
    func finish() throws -> (Int, [UInt8], String?) {
        let exchange = self.exchange
        if signer != nil { try signer!.finish { try exchange.write($0) } }
        try exchange.closeUpload()
        let status = try exchange.waitForResponse()
        let etag = exchange.header("etag")
        return (status, try exchange.finish(), etag)
    }

    func abort() { exchange.abort() }
}

extension S3Zone {
    /// Starts a PUT of exactly `length` bytes to `key` (an UploadPart when `query` names one).
    func startUpload(_ bucket: String, _ key: String, length: Int64, query: String = "") throws(StoreError)
        -> S3Upload
    {
        var headers: [(String, String)] = []
        if query.isEmpty {
            headers.append(("Content-Type", "application/octet-stream"))
            if let sc = config.storageClass { headers.append(("x-amz-storage-class", sc)) }
        }
        guard config.payloadSigning else {
            let t = try start("PUT", bucket: bucket, key: key, query: query, headers: headers, length: length)
            return S3Upload(exchange: t, signer: nil)
        }
        let encoded = ChunkSigner.encodedLength(length)
        headers += [
            ("Content-Encoding", "aws-chunked"), ("x-amz-decoded-content-length", String(length)),
            ("Content-Length", String(encoded)),
        ]
        let signed = sign(
            "PUT", bucket: bucket, key: key, query: query, headers: headers, length: encoded,
            payload: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
        let signer = ChunkSigner(
            secretKey: config.secretKey, region: config.region, service: "s3", amzDate: signed.amzDate,
            seedSignature: signed.signature)
        return S3Upload(exchange: try transport.start(signed.request), signer: signer)
    }
}
