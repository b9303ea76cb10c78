import GatewayCore
import Metrics

/// A storage zone as the gateway's requests see it: every call names the zone in the calling
/// thread's request trace (the operations log's "zones touched"). The one place zone calls pass
/// through, so per-zone measurements are taken here too: each call's time by zone and call
/// (`s3gw_zone_request_duration_seconds`; for reads and writes the opening and the commit, the
/// bytes stream in between) and its failures (`s3gw_zone_errors_total`: the calls', and those of
/// the readers' and writers' bytes and commits).
struct TracedZone: AcceleratedZone {
    let inner: any StorageZone
    let metrics: MetricsRecorder?
    var name: String { inner.name }

    init(_ inner: any StorageZone, metrics: MetricsRecorder? = nil) {
        self.inner = inner
        self.metrics = metrics
    }

    /// The blob's path under the zone's nginx location when nginx can send it
    /// (`AccelRedirect`; nil when the zone it wraps is not an accelerated one); the zone counts
    /// as touched, as a read would have.
    func acceleratedPath(backendBucket: String, blob: String) -> String? {
        guard let accelerated = inner as? any AcceleratedZone,
            let path = accelerated.acceleratedPath(backendBucket: backendBucket, blob: blob)
        else { return nil }
        RequestTrace.current?.touched(zone: inner.name)
        return path
    }

    fileprivate func call<T>(_ call: String, _ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        RequestTrace.current?.touched(zone: inner.name)
        guard let metrics else { return try body() }
        let started = MonotonicClock.now()
        do {
            let value = try body()
            metrics.observe(.zoneDuration, [inner.name, call], MonotonicClock.now() - started)
            return value
        } catch {
            metrics.observe(.zoneDuration, [inner.name, call], MonotonicClock.now() - started)
            counted(error)
            throw error
        }
    }

    /// Counts `error` in `s3gw_zone_errors_total` when it is the zone's failure.
    fileprivate func counted(_ error: any Error) {
        if Self.isFailure(error) { metrics?.count(.zoneErrors, [inner.name]) }
    }

    /// The zone failed, as opposed to answering (no such blob, a precondition, a conflict; no
    /// such zone is the configuration's fault, not the zone's). An error a zone's stream throws
    /// that is no StoreError is its failure too.
    static func isFailure(_ error: any Error) -> Bool {
        guard let error = error as? StoreError else { return true }
        switch error {
        case .zoneUnavailable, .internalFailure: return true
        default: return false
        }
    }

    func createBucket(_ backendBucket: String) throws(StoreError) {
        try call("createBucket") { () throws(StoreError) in try inner.createBucket(backendBucket) }
    }
    func deleteBucket(_ backendBucket: String) throws(StoreError) {
        try call("deleteBucket") { () throws(StoreError) in try inner.deleteBucket(backendBucket) }
    }
    func beginWrite(backendBucket: String, length: Int64?) throws(StoreError) -> any BlobWriter {
        try traced(
            call("beginWrite") { () throws(StoreError) in
                try inner.beginWrite(backendBucket: backendBucket, length: length)
            })
    }
    func open(backendBucket: String, blob: String, offset: Int64, length: Int64?) throws(StoreError)
        -> any BlobReader
    {
        let reader = try call("open") { () throws(StoreError) in
            try inner.open(backendBucket: backendBucket, blob: blob, offset: offset, length: length)
        }
        return metrics == nil ? reader : TracedBlobReader(reader, zone: self)
    }
    func deleteBlob(backendBucket: String, blob: String) throws(StoreError) {
        try call("deleteBlob") { () throws(StoreError) in try inner.deleteBlob(backendBucket: backendBucket, blob: blob)
        }
    }
    func probe() throws(StoreError) -> Double {
        return try call("probe") { () throws(StoreError) in try inner.probe() }
    }
    func listBlobs(backendBucket: String, after: String, limit: Int) throws(StoreError) -> [StoredBlob] {
        return try call("listBlobs") { () throws(StoreError) in
            try inner.listBlobs(backendBucket: backendBucket, after: after, limit: limit)
        }
    }
    func blobInfo(backendBucket: String, blob: String) throws(StoreError) -> StoredBlob? {
        return try call("blobInfo") { () throws(StoreError) in
            try inner.blobInfo(backendBucket: backendBucket, blob: blob)
        }
    }
    func listBackendBuckets() throws(StoreError) -> [String] {
        return try call("listBackendBuckets") { () throws(StoreError) in try inner.listBackendBuckets() }
    }
    func beginMultipart(backendBucket: String) throws(StoreError) -> String? {
        return try call("beginMultipart") { () throws(StoreError) in
            try inner.beginMultipart(backendBucket: backendBucket)
        }
    }
    func beginPartWrite(backendBucket: String, multipart: String, partNumber: Int, length: Int64?) throws(StoreError)
        -> any BlobWriter
    {
        try traced(
            call("beginPartWrite") { () throws(StoreError) in
                try inner.beginPartWrite(
                    backendBucket: backendBucket, multipart: multipart, partNumber: partNumber, length: length)
            })
    }
    func completeMultipart(backendBucket: String, multipart: String, parts: [(Int, String)]) throws(StoreError)
        -> String
    {
        return try call("completeMultipart") { () throws(StoreError) in
            try inner.completeMultipart(backendBucket: backendBucket, multipart: multipart, parts: parts)
        }
    }
    func abortMultipart(backendBucket: String, multipart: String) throws(StoreError) {
        try call("abortMultipart") { () throws(StoreError) in
            try inner.abortMultipart(backendBucket: backendBucket, multipart: multipart)
        }
    }
    func listZoneUploads(backendBucket: String) throws(StoreError) -> [ZoneUpload] {
        return try call("listZoneUploads") { () throws(StoreError) in
            try inner.listZoneUploads(backendBucket: backendBucket)
        }
    }

    private func traced(_ writer: any BlobWriter) -> any BlobWriter {
        metrics == nil ? writer : TracedBlobWriter(writer, zone: self)
    }
}

/// A zone's writer as the requests use it: a failed write counts as the zone's failure, and
/// `commit` (an fsync and rename, or the remote upload's end) is timed and counted as
/// `call="commit"`.
private final class TracedBlobWriter: BlobWriter {
    let inner: any BlobWriter
    let zone: TracedZone

    init(_ inner: any BlobWriter, zone: TracedZone) {
        self.inner = inner
        self.zone = zone
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        do {
            try inner.write(bytes)
        } catch {
            zone.counted(error)
            throw error
        }
    }

    func commit() throws(StoreError) -> String {
        try zone.call("commit") { () throws(StoreError) in try inner.commit() }
    }

    func abort() { inner.abort() }

    var writesFromAnyThread: Bool { inner.writesFromAnyThread }
}

/// A zone's reader as the requests use it: a failed read counts as the zone's failure.
private final class TracedBlobReader: BlobReader {
    let inner: any BlobReader
    let zone: TracedZone
    var size: Int64 { inner.size }

    init(_ inner: any BlobReader, zone: TracedZone) {
        self.inner = inner
        self.zone = zone
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        do {
            return try inner.read(into: buffer)
        } catch {
            zone.counted(error)
            throw error
        }
    }
}
