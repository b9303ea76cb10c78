import GatewayCore

/// One part of a provider-assembled multipart upload; `commit` returns the provider's ETag.
final class S3PartWriter: BlobWriter {
    private let upload: S3Upload
    private let zone: S3Zone
    private let what: String
    private var closed = false

    init(upload: S3Upload, zone: S3Zone, what: String) {
        self.upload = upload
        self.zone = zone
        self.what = what
    }

    deinit { abort() }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        do {
            try upload.write(bytes)
        } catch {
            throw zone.zoneError(error)
        }
    }

    func commit() throws(StoreError) -> String {
        do {
            let (status, body, etag) = try upload.finish()
            closed = true
            guard status == 200, let etag else { throw zone.failure(what, status, body) }
            return etag
        } catch {
            abort()
            throw zone.zoneError(error)
        }
    }

    func abort() {
        if !closed {
            closed = true
            upload.abort()
        }
    }
}
