import GatewayCore

/// The places an object's bytes can be read from: the primary copy and every completed
/// replica, in the bucket's placement order (its LocationConstraint's order).
struct ObjectCopies {
    struct Copy {
        let zone: String
        let backendBucket: String
        let blobs: [BlobPart]
    }

    let all: [Copy]

    /// The copies other than the one being written (a replica is never its own source).
    func excluding(_ zone: String) -> ObjectCopies { ObjectCopies(all: all.filter { $0.zone != zone }) }

    private init(all: [Copy]) { self.all = all }

    /// That copy alone (an encrypted read tries its copies one at a time: `ObjectEncryption`).
    func only(_ copy: Copy) -> ObjectCopies { ObjectCopies(all: [copy]) }

    init(_ o: ObjectRecord, in b: BucketRecord, _ ctx: GatewayContext) {
        var copies = [Copy(zone: o.zone, backendBucket: ctx.backendBucket(b, in: o.zone), blobs: o.blobs)]
        for r in o.replicas where r.state == .completed && !r.blob.isEmpty {
            copies.append(
                Copy(zone: r.zone, backendBucket: r.backendBucket, blobs: [BlobPart(blob: r.blob, size: o.storedSize)]))
        }
        // One copy (no replica) needs no order: no rank table, no sort.
        guard copies.count > 1 else {
            all = copies
            return
        }
        let rank = Dictionary(b.zones.enumerated().map { ($1, $0) }) { a, _ in a }
        all = copies.enumerated().sorted {
            (rank[$0.element.zone] ?? Int.max, $0.offset) < (rank[$1.element.zone] ?? Int.max, $1.offset)
        }.map(\.element)
    }

    /// Copies worth trying: those in zones the health checker has not marked down, or all of
    /// them when every zone is down (the checker may be behind).
    func candidates(_ ctx: GatewayContext) -> [Copy] {
        let up = all.filter { !ctx.zoneHealth.isDown($0.zone) }
        return up.isEmpty ? all : up
    }

    /// Opens `length` bytes from `offset` at the first copy that answers; a zone that fails or
    /// does not answer in time (the zone's own bound) passes the read to the next copy.
    func open(offset: Int64, length: Int64, _ ctx: GatewayContext) throws -> (zone: String, reader: BlobChainReader) {
        var lastError: StoreError?
        var unavailable: StoreError?
        for copy in candidates(ctx) {
            do {
                let reader = try BlobChainReader(
                    zone: try ctx.zone(copy.zone), backendBucket: copy.backendBucket, parts: copy.blobs, offset: offset,
                    length: length)
                return (copy.zone, reader)
            } catch let e as StoreError {
                switch e {
                case .zoneUnavailable, .noSuchKey, .internalFailure:
                    ctx.logger.warning("reading a copy in \(copy.zone) failed, trying the next: \(e)")
                    lastError = e
                    if case .zoneUnavailable = e { unavailable = e }
                default: throw e
                }
            }
        }
        // The object exists: a copy missing from its zone is lost bytes, never the client's
        // NoSuchKey. A zone that could not answer makes it worth a retry (503).
        if let unavailable { throw unavailable }
        throw StoreError.internalFailure("no readable copy of the object: \(lastError.map { "\($0)" } ?? "no copy")")
    }
}
