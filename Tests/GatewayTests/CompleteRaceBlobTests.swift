import GatewayCore
import GatewayTesting
import Synchronization
import XCTest

/// A zone that assembles multipart uploads itself, as a provider does: parts are its own blobs
/// and the assembled object is one blob named after the upload. `onAssembled` runs once, after
/// assembling and before the gateway records the object: a racing Complete that commits first.
final class AssemblingZone: StorageZone, @unchecked Sendable {
    let inner: InMemoryZone
    let onAssembled = Mutex<(@Sendable (String) -> Void)?>(nil)
    var name: String { inner.name }
    init(_ inner: InMemoryZone) { self.inner = inner }

    func createBucket(_ b: String) throws(StoreError) { try inner.createBucket(b) }
    func deleteBucket(_ b: String) throws(StoreError) { try inner.deleteBucket(b) }
    func beginWrite(backendBucket: String, length: Int64?) throws(StoreError) -> any BlobWriter {
        try inner.beginWrite(backendBucket: backendBucket, length: length)
    }
    func open(backendBucket: String, blob: String, offset: Int64, length: Int64?) throws(StoreError)
        -> any BlobReader
    {
        try inner.open(backendBucket: backendBucket, blob: blob, offset: offset, length: length)
    }
    func deleteBlob(backendBucket: String, blob: String) throws(StoreError) {
        try inner.deleteBlob(backendBucket: backendBucket, blob: blob)
    }
    func probe() throws(StoreError) -> Double { 0 }
    func listBlobs(backendBucket: String, after: String, limit: Int) throws(StoreError) -> [StoredBlob] {
        try inner.listBlobs(backendBucket: backendBucket, after: after, limit: limit)
    }
    func blobInfo(backendBucket: String, blob: String) throws(StoreError) -> StoredBlob? {
        try inner.blobInfo(backendBucket: backendBucket, blob: blob)
    }
    func listBackendBuckets() throws(StoreError) -> [String] { try inner.listBackendBuckets() }

    func beginMultipart(backendBucket: String) throws(StoreError) -> String? { "mp-\(RandomID.make())" }
    func beginPartWrite(backendBucket: String, multipart: String, partNumber: Int, length: Int64?) throws(StoreError)
        -> any BlobWriter
    {
        try inner.beginWrite(backendBucket: backendBucket, length: length)
    }
    func completeMultipart(backendBucket: String, multipart: String, parts: [(Int, String)]) throws(StoreError)
        -> String
    {
        var bytes: [UInt8] = []
        for (_, blob) in parts {
            let reader = try inner.open(backendBucket: backendBucket, blob: blob, offset: 0, length: nil)
            bytes += ((try? reader.readAll(limit: 1 << 20)) ?? nil) ?? []
            try inner.deleteBlob(backendBucket: backendBucket, blob: blob)
        }
        let id = inner.plant(bytes, backendBucket: backendBucket, id: "assembled-" + multipart)
        if let hook = onAssembled.withLock({ h in
            defer { h = nil }
            return h
        }) {
            hook(id)
        }
        return id
    }
}

/// A Complete of a provider-assembled upload that loses the race to another Complete of the same
/// upload must not remove the assembled blob: the winner's version references it, even when the
/// retry lookup does not recognise that version as its own.
final class CompleteRaceBlobTests: XCTestCase {
    func testALosingCompleteKeepsTheBlobTheCommittedVersionReferences() throws {
        var assembling: AssemblingZone!
        let gw = TestGateway(wrapZone: { z in
            let a = AssemblingZone(z)
            assembling = a
            return a
        })
        XCTAssertEqual(gw.send("PUT", "/mpb").status, 200)
        let created = gw.send("POST", "/mpb/k?uploads")
        let id = created.text.components(separatedBy: "<UploadId>")[1].components(separatedBy: "</UploadId>")[0]
        XCTAssertFalse(try XCTUnwrap(try gw.metadata.upload(id: id)).zoneUpload.isEmpty, "assembled by the zone")
        let etag = gw.send("PUT", "/mpb/k?partNumber=1&uploadId=\(id)", body: [7, 8, 9]).header("ETag") ?? ""

        // The racing Complete names other parts (or its version is buried under newer ones): its
        // version is not one the loser's retry lookup recognises.
        let store = gw.metadata
        assembling.onAssembled.withLock {
            $0 = { blob in
                var won = ObjectRecord(
                    bucket: "mpb", key: "k", size: 3, etag: "0123456789abcdef0123456789abcdef-1",
                    lastModified: TestGateway.now, contentType: "binary/octet-stream", headers: [], checksums: [:],
                    zone: "zone-a", blob: blob)
                won.uploadId = id
                _ = try! store.completeUploadVersion(id, object: won, condition: nil)
            }
        }
        let complete = Array(
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\(etag)</ETag></Part></CompleteMultipartUpload>"
                .utf8)
        let lost = gw.send("POST", "/mpb/k?uploadId=\(id)", body: complete)
        XCTAssertEqual(lost.errorCode, "NoSuchUpload", lost.text)

        let got = gw.send("GET", "/mpb/k")
        XCTAssertEqual(got.status, 200, got.text)
        XCTAssertEqual(got.body, [7, 8, 9], "the committed version's bytes are still there")
    }
}
