import GatewayCore
import Metrics

/// A storage zone as the gateway's requests see it: every call names the zone in the calling
/// thread's request trace (the operations log's "zones touched"). The one place zone calls pass
/// through, so per-zone measurements are taken here too: each call's time by zone and call
/// (`s3gw_zone_request_duration_seconds`; for reads and writes the opening, the bytes stream
/// after) and its failures (`s3gw_zone_errors_total`).
struct TracedZone: StorageZone {
    let inner: any StorageZone
    let metrics: MetricsRecorder?
    var name: String { inner.name }

    init(_ inner: any StorageZone, metrics: MetricsRecorder? = nil) {
        self.inner = inner
        self.metrics = metrics
    }

    private func call<T>(_ call: String, _ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        RequestTrace.current?.touched(zone: inner.name)
        guard let metrics else { return try body() }
        let started = MonotonicClock.now()
        do {
            let value = try body()
            metrics.observe(.zoneDuration, [inner.name, call], MonotonicClock.now() - started)
            return value
        } catch {
            metrics.observe(.zoneDuration, [inner.name, call], MonotonicClock.now() - started)
            if Self.isFailure(error) { metrics.count(.zoneErrors, [inner.name]) }
            throw error
        }
    }

    /// The zone failed, as opposed to answering (no such blob, a precondition, a conflict).
    static func isFailure(_ error: StoreError) -> Bool {
        switch error {
        case .zoneUnavailable, .internalFailure, .noSuchZone: true
        default: false
        }
    }

    func createBucket(_ backendBucket: String) throws(StoreError) {
        try call("createBucket") { () throws(StoreError) in try inner.createBucket(backendBucket) }
    }
    func deleteBucket(_ backendBucket: String) throws(StoreError) {
        try call("deleteBucket") { () throws(StoreError) in try inner.deleteBucket(backendBucket) }
    }
    func beginWrite(backendBucket: String, length: Int64?) throws(StoreError) -> any BlobWriter {
        return try call("beginWrite") { () throws(StoreError) in
            try inner.beginWrite(backendBucket: backendBucket, length: length)
        }
    }
    func open(backendBucket: String, blob: String, offset: Int64, length: Int64?) throws(StoreError)
        -> any BlobReader
    {
        return try call("open") { () throws(StoreError) in
            try inner.open(backendBucket: backendBucket, blob: blob, offset: offset, length: length)
        }
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
        return try call("beginPartWrite") { () throws(StoreError) in
            try inner.beginPartWrite(
                backendBucket: backendBucket, multipart: multipart, partNumber: partNumber, length: length)
        }
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
}
