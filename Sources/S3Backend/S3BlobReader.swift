import GatewayCore

/// A provider object's body (or a range of it), streamed as the caller reads.
final class S3BlobReader: BlobReader {
    private let transfer: any HTTPExchange
    let size: Int64
    private var remaining: Int64
    private let zone: S3Zone

    init(transfer: any HTTPExchange, size: Int64, zone: S3Zone) {
        self.transfer = transfer
        self.size = size
        self.zone = zone
        remaining = size
    }

    /// Headers are already on their way to the client, so a failure here (a provider that
    /// stalls mid-body) ends the response short; it is never retried.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n: Int
        do {
            n = try transfer.read(into: buffer)
        } catch {
            transfer.abort()
            throw zone.zoneError(error)
        }
        remaining -= Int64(n)
        // A provider that ends the body early must not pass for a complete object.
        if n == 0 && remaining > 0 {
            throw StoreError.zoneUnavailable("zone \(zone.name): object body ended \(remaining) bytes early")
        }
        return n
    }
}

/// A zero-length range: nothing to ask the provider for.
final class EmptyBlobReader: BlobReader {
    let size: Int64 = 0
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int { 0 }
}
