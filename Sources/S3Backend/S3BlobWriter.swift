import GatewayCore

/// Uploads a blob under a random id (or a name of the gateway's: `NamedObjectZone`). With a known length the bytes stream straight through in
/// one PUT. With an unknown length they go in 8 MiB parts of a provider multipart upload (a body
/// that ends before the first part is full still goes as one PUT): memory stays bounded and
/// nothing is staged whole.
final class S3BlobWriter: BlobWriter {
    static let partSize = 8 * 1024 * 1024

    private let zone: S3Zone
    private let backendBucket: String
    private let id: String
    private var current: S3Upload?
    private var buffer: [UInt8] = []
    private var uploadId: String?
    private var partETags: [String] = []
    private var closed = false

    init(zone: S3Zone, backendBucket: String, length: Int64?, key: String = RandomID.make()) throws(StoreError) {
        self.zone = zone
        self.backendBucket = backendBucket
        id = key
        if let length {
            current = try zone.startUpload(backendBucket, id, length: length)
        } else {
            buffer.reserveCapacity(Self.partSize)
        }
    }

    deinit { abort() }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        do {
            try buffered(bytes)
        } catch {
            throw zone.zoneError(error)
        }
    }

    private func buffered(_ bytes: UnsafeRawBufferPointer) throws {
        if let current {
            try current.write(bytes)
            return
        }
        var offset = 0
        while offset < bytes.count {
            let n = min(Self.partSize - buffer.count, bytes.count - offset)
            buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)]))
            offset += n
            if buffer.count == Self.partSize { try flushPart() }
        }
    }

    /// Sends the buffer as the next part of the provider multipart upload (started on demand).
    private func flushPart() throws {
        let upload = try uploadId ?? zone.createUpload(backendBucket, id)
        uploadId = upload
        let n = partETags.count + 1
        let part = try zone.startUpload(
            backendBucket, id, length: Int64(buffer.count), query: S3Zone.partQuery(upload, n))
        try buffer.withUnsafeBytes { try part.write($0) }
        let (status, body, etag) = try part.finish()
        guard status == 200, let etag else { throw zone.failure("UploadPart \(n) of \(id)", status, body) }
        partETags.append(etag)
        buffer.removeAll(keepingCapacity: true)
    }

    func commit() throws(StoreError) -> String {
        do {
            if current == nil && uploadId == nil {
                // Unknown length, but it all fit in one part: a plain PUT.
                let put = try zone.startUpload(backendBucket, id, length: Int64(buffer.count))
                try buffer.withUnsafeBytes { try put.write($0) }
                current = put
            }
            if let current {
                let (status, body, _) = try current.finish()
                closed = true
                guard status == 200 else {
                    if status == 404 { zone.forget(backendBucket) }
                    throw zone.failure("PutObject \(id)", status, body)
                }
                return id
            }
            if !buffer.isEmpty { try flushPart() }
            try zone.completeUpload(
                backendBucket, id, uploadId: uploadId ?? "",
                etags: partETags.enumerated().map { ($0.offset + 1, $0.element) })
            closed = true
            return id
        } catch {
            abort()
            throw zone.zoneError(error)
        }
    }

    func abort() {
        guard !closed else { return }
        closed = true
        current?.abort()
        if let uploadId { try? zone.abortUpload(backendBucket, id, uploadId: uploadId) }
    }
}
