import GatewayCore
import S3Protocol
import SigV4

/// Multipart uploads assembled by the provider: the gateway's multipart uploads on a remote
/// zone, and the parts of a blob whose length was unknown (S3BlobWriter).
extension S3Zone {
    /// Handle: "<blob id> <provider upload id>" (neither contains a space).
    public func beginMultipart(backendBucket: String) throws(StoreError) -> String? {
        try ensureBucket(backendBucket)
        let id = RandomID.make()
        return id + " " + (try createUpload(backendBucket, id))
    }

    static func split(_ handle: String) throws(StoreError) -> (id: String, upload: String) {
        let parts = handle.split(separator: " ", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { throw .internalFailure("bad multipart handle") }
        return (parts[0], parts[1])
    }

    public func beginPartWrite(backendBucket: String, multipart: String, partNumber: Int, length: Int64?)
        throws(StoreError) -> any BlobWriter
    {
        guard let length else { throw .internalFailure("provider parts need their length up front") }
        let (id, upload) = try Self.split(multipart)
        return S3PartWriter(
            upload: try startUpload(backendBucket, id, length: length, query: Self.partQuery(upload, partNumber)),
            zone: self, what: "UploadPart \(partNumber) of \(id)")
    }

    public func completeMultipart(backendBucket: String, multipart: String, parts: [(Int, String)])
        throws(StoreError) -> String
    {
        let (id, upload) = try Self.split(multipart)
        try completeUpload(backendBucket, id, uploadId: upload, etags: parts)
        return id
    }

    public func abortMultipart(backendBucket: String, multipart: String) throws(StoreError) {
        let (id, upload) = try Self.split(multipart)
        try abortUpload(backendBucket, id, uploadId: upload)
    }

    // MARK: the provider's multipart API

    static func uploadQuery(_ uploadId: String) -> String { "uploadId=" + uriEncode(uploadId, encodeSlash: true) }

    static func partQuery(_ uploadId: String, _ partNumber: Int) -> String {
        "partNumber=\(partNumber)&" + uploadQuery(uploadId)
    }

    /// CreateMultipartUpload of `key`; returns the provider's upload id.
    func createUpload(_ bucket: String, _ key: String) throws(StoreError) -> String {
        var headers: [(String, String)] = [("Content-Type", "application/octet-stream")]
        if let sc = config.storageClass { headers.append(("x-amz-storage-class", sc)) }
        let (status, body) = try run("POST", bucket: bucket, key: key, query: "uploads", headers: headers)
        guard status == 200, let upload = XMLNode.parse(body)?.child("UploadId")?.text, !upload.isEmpty else {
            throw failure("CreateMultipartUpload \(key)", status, body)
        }
        return upload
    }

    /// CompleteMultipartUpload with the parts' (number, provider ETag).
    func completeUpload(_ bucket: String, _ key: String, uploadId: String, etags: [(Int, String)])
        throws(StoreError)
    {
        let parts = etags.map { "<Part><PartNumber>\($0.0)</PartNumber><ETag>\(XMLWriter.escape($0.1))</ETag></Part>" }
            .joined()
        let (status, body) = try run(
            "POST", bucket: bucket, key: key, query: Self.uploadQuery(uploadId),
            headers: [("Content-Type", "application/xml")],
            body: Array("<CompleteMultipartUpload>\(parts)</CompleteMultipartUpload>".utf8), assembles: true)
        // S3 may answer 200 and still carry an <Error> document (providers differ in the
        // success root's name, so only the error is recognised).
        guard status == 200, let root = XMLNode.parse(body), root.name != "Error" else {
            throw failure("CompleteMultipartUpload \(key)", status == 200 ? 500 : status, body)
        }
    }

    /// AbortMultipartUpload; an upload already gone is fine.
    func abortUpload(_ bucket: String, _ key: String, uploadId: String) throws(StoreError) {
        let (status, body) = try run("DELETE", bucket: bucket, key: key, query: Self.uploadQuery(uploadId))
        guard status == 204 || status == 200 || status == 404 else {
            throw failure("AbortMultipartUpload \(key)", status, body)
        }
    }
}
