import GatewayCore
import Logging
import S3Protocol
import SigV4

extension Handlers {
    /// POST /bucket/key?uploads — https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateMultipartUpload.html
    static func createMultipartUpload(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let b = try ownedBucket(r, ctx)
        guard let key = r.key else { throw S3Error(.invalidRequest) }
        try ObjectKey.validate(key)
        try UnsupportedFeatures.check(r, .createMultipartUpload, objectLock: b.objectLock != nil)
        let access = try newObjectACL(r, b, ctx)
        let sse = try sseRequest(r, .createMultipartUpload, ctx)
        let encryption = try sse.forWrite(into: b)
        // Kept as named; Complete adds the bucket's default retention, counted from completion.
        let lock = try explicitLock(fields: r.head.headers, bucket: b, key: key, caller: r, now: r.now)
        let stored = try StoredHeaders.fromRequest(r)
        let checksum = try MultipartChecksum.fromCreate(r)
        let tags = try Tagging.fromRequest(r)
        _ = try Replication.count(tags: tags, bucket: b)
        let (zoneName, zone) = try ctx.writeZone(for: b)
        // A provider zone assembles the parts itself (its multipart API); else parts are blobs.
        let zoneUpload = try zone.beginMultipart(backendBucket: ctx.backendBucket(b, in: zoneName)) ?? ""
        var upload = UploadRecord(
            uploadId: RandomID.make(), bucket: b.name, key: key, initiated: r.now, contentType: stored.contentType,
            headers: stored.headers, checksumAlgorithm: checksum?.algorithm.rawValue ?? "", zone: zoneName,
            tags: tags,
            zoneUpload: zoneUpload, checksumType: checksum?.type.rawValue ?? ""
        )
        upload.lock = lock ?? LockSettings()
        (upload.owner, upload.acl) = access
        // One data key for the whole upload, each part its own stream under it.
        let sealing = try ObjectEncryption.forWrite(
            encryption.mode, bucketKeyEnabled: encryption.bucketKeyEnabled, request: sse, tenant: b.tenant, ctx.keys)
        upload.sse = sealing?.envelope.encoded ?? ""
        upload.initiator = r.principal?.user.id ?? Handlers.anonymousInitiator
        try ctx.metadata.createUpload(upload)
        var x = XMLWriter()
        x.open("InitiateMultipartUploadResult", namespace: XMLWriter.s3Namespace)
        x.element("Bucket", b.displayName)
        x.element("Key", key)
        x.element("UploadId", upload.uploadId)
        x.close("InitiateMultipartUploadResult")
        var response = S3Response.xml(x.document)
        if let checksum {
            response.headers.append(Header("x-amz-checksum-algorithm", checksum.algorithm.algorithmName))
            response.headers.append(Header("x-amz-checksum-type", checksum.type.rawValue))
        }
        response.headers += abortHeaders(b, upload)
        response.headers += sealing?.answer.headers ?? []
        return response
    }

    /// The upload named by `?uploadId=`, which must belong to this bucket and key.
    static func namedUpload(_ r: S3Request, _ b: BucketRecord, _ ctx: GatewayContext) throws -> UploadRecord {
        guard let id = r.query["uploadId"], let key = r.key, let upload = try ctx.metadata.upload(id: id),
            upload.bucket == b.name, upload.key == key
        else {
            throw S3Error(.noSuchUpload, extra: [("UploadId", r.query["uploadId"] ?? "")])
        }
        return upload
    }
}
