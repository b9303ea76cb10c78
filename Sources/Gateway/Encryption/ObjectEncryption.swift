import Foundation
import GatewayCore
import SigV4

/// The encryption layer between the digests and the zones (docs/ENCRYPTION.md): a write gets a
/// fresh data key and envelope, its plaintext is encrypted on its way to the zone writer; a
/// read unwraps the data key and decrypts only the segments its range needs. Data keys and
/// customer keys live for the request only.
struct ObjectEncryption {
    let envelope: SSEEnvelope
    /// The data key, wiped when the request is done with it (`wipe`), and in any case when the
    /// last copy of this value goes (the box wipes it: an error path never leaves it in freed
    /// memory).
    var dataKey: [UInt8] { key.bytes }
    private let key: KeyBytes
    let answer: SSEAnswer
    /// The part number a write's stream is bound to: 0 for a single-stream object, the part's
    /// number for UploadPart and UploadPartCopy.
    var part = 0

    init(envelope: SSEEnvelope, dataKey: [UInt8], answer: SSEAnswer) {
        self.envelope = envelope
        key = KeyBytes(dataKey)
        self.answer = answer
    }

    /// A new data key for a write of `mode` by a tenant (nil: the write is not encrypted).
    static func forWrite(
        _ mode: SSEMode, bucketKeyEnabled: Bool, request: SSERequest, tenant: String, _ keys: KeyService
    ) throws -> ObjectEncryption? {
        var customer: [UInt8] = []
        var choice: KeyService.Choice
        switch mode {
        case .none: return nil
        case .s3: choice = .s3
        case .kms(let id): choice = .kms(id)
        case .customer:
            guard let key = request.customerKey else { return nil }
            customer = key.withBytes { Array($0) }
            choice = .customer(customer)
        }
        let made = Result { try keys.newDataKey(choice, tenant: tenant) }
        // The copy of the customer key goes now (the choice no longer shares it).
        choice = .s3
        wipeBytes(&customer)
        let (dataKey, envelope) = try made.get()
        var answer = Self.answer(envelope, tenant: tenant, customerKeyMD5: request.customerKey?.md5, keys)
        if case .kms = envelope.mode { answer.bucketKeyEnabled = bucketKeyEnabled }
        return ObjectEncryption(envelope: envelope, dataKey: dataKey, answer: answer)
    }

    /// The data key of a stored object (nil for plaintext), after the customer key check.
    static func forRead(_ o: ObjectRecord, customerKey: CustomerKey?, tenant: String, _ keys: KeyService) throws
        -> ObjectEncryption?
    {
        try forStored(o.sse, customerKey: customerKey, tenant: tenant, keys)
    }

    /// The data key kept in an envelope ("" for plaintext: nil): an object's, or a multipart
    /// upload's (its parts are encrypted under it), after the customer key check.
    static func forStored(_ sse: String, customerKey: CustomerKey?, tenant: String, _ keys: KeyService) throws
        -> ObjectEncryption?
    {
        try SSERequest.checkCustomerKey(customerKey, storedSSE: sse)
        guard let envelope = try SSEEnvelope.decode(sse) else { return nil }
        var raw = customerKey.map { k in k.withBytes { Array($0) } }
        defer { if raw != nil { wipeBytes(&raw!) } }
        let dataKey = try keys.dataKey(envelope, customerKey: raw)
        return ObjectEncryption(
            envelope: envelope, dataKey: dataKey,
            answer: answer(envelope, tenant: tenant, customerKeyMD5: customerKey?.md5, keys))
    }

    static func answer(_ e: SSEEnvelope, tenant: String, customerKeyMD5: String?, _ keys: KeyService) -> SSEAnswer {
        switch e.mode {
        case .s3: SSEAnswer(mode: .s3)
        case .kms(let id): SSEAnswer(mode: .kms(keyId: id), kmsKeyARN: keys.arn(keyId: id, tenant: tenant))
        case .customer: SSEAnswer(mode: .customer, customerKeyMD5: customerKeyMD5)
        }
    }

    /// The ETag of an encrypted single-stream object: S3's MD5 of the plaintext for SSE-S3, the
    /// tag digest (not the MD5) for SSE-KMS and SSE-C.
    func etag(plainMD5: String, tagDigest: String) -> String {
        if case .s3 = envelope.mode { return plainMD5 }
        return tagDigest
    }

    /// A reader of plaintext bytes `offset..<offset+length` of `o` from its stored copies. The
    /// first segment is authenticated before the answer starts; a copy that fails it (damaged,
    /// missing, its zone down) passes the read to the next copy, as a plaintext read passes a
    /// failing zone on. Damage past the first segment cuts the response (its bytes are sent).
    func reader(
        _ o: ObjectRecord, offset: Int64, length: Int64, copies: ObjectCopies, _ ctx: GatewayContext
    ) throws -> (zone: String, reader: any ByteSource) {
        var corrupt: SSEError?
        var unavailable: StoreError?
        var lost: StoreError?
        for copy in copies.candidates(ctx) {
            let one = copies.only(copy)
            do {
                let reader = try DecryptingReader(
                    dataKey: dataKey, streams: o.plainStreams, parts: o.streamParts(envelope), offset: offset,
                    length: length
                ) { start, count in try one.open(offset: start, length: count, ctx).reader }
                return (copy.zone, reader)
            } catch let e as SSEError {
                guard case .corrupt(let why) = e else { throw e }
                ctx.logger.error(
                    "encrypted object \(o.bucket)/\(o.key): the copy in \(copy.zone) fails (\(why)), trying the next")
                corrupt = corrupt ?? e
            } catch let e as StoreError {
                switch e {
                case .zoneUnavailable: unavailable = e
                case .noSuchKey, .internalFailure: lost = lost ?? e
                default: throw e
                }
            }
        }
        // Every copy failed: damage is a 500, a zone that could not answer worth a retry (503).
        if let corrupt { throw corrupt }
        if let unavailable { throw unavailable }
        throw lost ?? StoreError.internalFailure("no readable copy of the object")
    }

    mutating func wipe() { key.wipe() }
}

/// Key material owned by one request; wiped in place when the last holder lets go.
final class KeyBytes {
    private(set) var bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func wipe() { wipeBytes(&bytes) }

    deinit { wipeBytes(&bytes) }
}
