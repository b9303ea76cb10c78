import Foundation
import GatewayCore
import GatewayTesting
import Logging
import SigV4
import Synchronization
import XCTest

@testable import Gateway

/// A migration run over in-memory doubles: an InMemorySourceAccount for the existing account
/// (its `reads` counts GetObject calls), a TestGateway with zones in Sweden, Finland and
/// Germany. What a user checks: the bytes and headers in the gateway, the zones they landed in,
/// that a rerun or a resumed run reads nothing twice, and why what was skipped was skipped.
final class MigrationRunnerTests: XCTestCase {
    let catalog: [ZoneCatalog.Zone] = [
        .init(name: "zone-a", country: "se", region: "se-sto"),
        .init(name: "fi-1", country: "fi", region: "fi-hel"),
        .init(name: "fi-2", country: "fi", region: "fi-hel"),
        .init(name: "de-1", country: "de", region: "de-fra"),
    ]
    var gw: TestGateway!
    var source: InMemorySourceAccount!
    var principal: Principal { gw.context.identities.resolve(TestGateway.accessKey)!.principal }

    override func setUp() {
        gw = TestGateway(zones: catalog)
        source = InMemorySourceAccount(pageSize: 7)
    }

    static func bytes(_ n: Int, seed: Int = 1) -> [UInt8] {
        (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed) }
    }

    /// A snapshot of what the source holds now, as a discovery at level `full` would write it.
    func snapshot() throws -> SnapshotV1 { try MigrationFixtures.snapshot(of: source) }

    func plan(_ constraint: String, replicas: Int = 1, prefix: String = "", id: String = "plan-1") throws
        -> MigrationPlanV1
    {
        try gw.context.migrationPlan(
            for: snapshot(), options: .init(constraint: constraint, replicas: replicas, bucketPrefix: prefix),
            by: principal, id: id)
    }

    func runner(
        _ plan: MigrationPlanV1, source: (any SourceAccount)? = nil, options: MigrationRunner.Options = .init(),
        onObject: @escaping @Sendable (MigrationRunner.ObjectEvent) -> Void = { _ in }
    ) -> MigrationRunner {
        MigrationRunner(
            plan: plan, source: source ?? self.source, principal: principal, ctx: gw.context, options: options,
            logger: Logger(label: "test"), onObject: onObject)
    }

    func get(_ bucket: String, _ key: String) -> TestGateway.Response {
        gw.send("GET", "/\(bucket)/\(uriEncode(key, encodeSlash: false))")
    }

    /// Three buckets' worth of objects: sizes 0 to 70 KiB, headers and metadata on some.
    func fill() {
        source.addBucket("photos")
        source.addBucket("logs")
        for i in 0..<20 {
            source.put(
                "photos", "img/\(i).jpg", Self.bytes(i * 3500, seed: i), contentType: "image/jpeg",
                headers: ["cache-control": "max-age=60", "x-amz-meta-camera": "x\(i)"])
        }
        for i in 0..<9 { source.put("logs", "2024/\(i).log", Self.bytes(100 + i, seed: 100 + i)) }
    }

    // MARK: - Copying

    func testEveryObjectIsCopiedThroughTheWritePathIntoAllowedZones() throws {
        fill()
        let p = try plan("fi,de", replicas: 2)
        XCTAssertEqual(p.buckets.map(\.zones), [["fi-1", "de-1"], ["fi-1", "de-1"]])
        let report = runner(p).run()
        XCTAssertEqual(report.state, .done, report.text)
        XCTAssertEqual(report.objectsCopied, 29)
        XCTAssertEqual(report.objectsSkipped, 0, report.text)
        XCTAssertEqual(report.verification, ["md5": 29])
        let photoBytes: Int64 = (0..<20).reduce(0) { $0 + Int64($1 * 3500) }
        let logBytes: Int64 = (0..<9).reduce(0) { $0 + 100 + Int64($1) }
        XCTAssertEqual(report.bytesCopied, photoBytes + logBytes)
        XCTAssertEqual(source.reads, 29)
        for i in 0..<20 {
            let r = get("photos", "img/\(i).jpg")
            XCTAssertEqual(r.status, 200)
            XCTAssertEqual(r.body, Self.bytes(i * 3500, seed: i))
            XCTAssertEqual(r.header("content-type"), "image/jpeg")
            XCTAssertEqual(r.header("cache-control"), "max-age=60")
            XCTAssertEqual(r.header("x-amz-meta-camera"), "x\(i)")
            XCTAssertEqual(r.header("x-s3gw-zone"), "fi-1")
        }
        XCTAssertEqual(get("logs", "2024/3.log").body, Self.bytes(103, seed: 103))
        // The bucket carries the plan's constraint and count; the second copy is queued for Germany.
        let b = try XCTUnwrap(try gw.metadata.bucket(named: "photos"))
        XCTAssertEqual(b.locationConstraint, "fi,de")
        XCTAssertEqual(b.replicaCount, 2)
        let o = try XCTUnwrap(try gw.metadata.object(bucket: "photos", key: "img/3.jpg"))
        XCTAssertEqual(o.replicas.map(\.zone), ["de-1"])
        XCTAssertFalse(try gw.metadata.jobs(bucket: "photos", key: "img/3.jpg", limit: 10).isEmpty)
        XCTAssertEqual(gw.zones["zone-a"]!.blobCount, 0, "nothing in Sweden")
        // The run's row holds the report.
        let row = try XCTUnwrap(try gw.metadata.migrationRun(id: "plan-1"))
        XCTAssertEqual(MigrationRunStatus(row: row, now: gw.context.clock.now())?.objectsCopied, 29)
    }

    func testTheRunsWritesAreAuditedAsItsCallersNotTheSystems() throws {
        fill()
        let before = try gw.metadata.auditRecords(AuditQuery(limit: 10_000)).count
        var options = MigrationRunner.Options()
        options.origin = .web
        options.parallel = 4
        XCTAssertEqual(runner(try plan("fi"), options: options).run().state, .done)
        let records = Array(try gw.metadata.auditRecords(AuditQuery(limit: 10_000)).dropFirst(before))
        XCTAssertEqual(records.filter { $0.change == "object.put" }.count, 29)
        XCTAssertEqual(records.filter { $0.change == "bucket.create" }.count, 2)
        for r in records {
            XCTAssertEqual(
                [r.origin, r.tenant, r.accessKey], ["web", principal.tenant, TestGateway.accessKey], r.change)
        }
        XCTAssertEqual(Set(records.filter { $0.change == "object.put" }.map(\.operation)), ["PutObject"])
        XCTAssertEqual(Set(records.map(\.requestId)).count, records.count, "one request id per write")
    }

    func testARerunReadsNothingAgain() throws {
        fill()
        let p = try plan("fi")
        XCTAssertEqual(runner(p).run().objectsCopied, 29)
        let again = runner(p).run()
        XCTAssertEqual(again.state, .done)
        XCTAssertEqual(again.objectsCopied, 0)
        XCTAssertEqual(again.objectsPresent, 29)
        XCTAssertEqual(source.reads, 29, "a rerun reads no object again")
    }

    func testAnInterruptedRunResumesWithoutCopyingTwice() throws {
        fill()
        let p = try plan("fi")
        var options = MigrationRunner.Options()
        options.parallel = 1
        let copied = Atomic<Int>(0)
        let box = Mutex<MigrationRunner?>(nil)
        let first = runner(p, options: options) { e in
            if e.outcome == "copied" && copied.add(1, ordering: .relaxed).newValue == 11 {
                box.withLock { $0?.cancel() }
            }
        }
        box.withLock { $0 = first }
        let stopped = first.run()
        XCTAssertEqual(stopped.state, .cancelled)
        XCTAssertEqual(stopped.objectsCopied, 11)
        XCTAssertEqual(source.reads, 11)
        let resumed = runner(p, options: options).run()
        XCTAssertEqual(resumed.state, .done)
        XCTAssertEqual(resumed.objectsCopied, 18)
        XCTAssertEqual(resumed.objectsPresent, 11)
        XCTAssertEqual(source.reads, 29, "every object read exactly once over both runs")
    }

    func testACopyRecordedButNotCommittedIsCopiedAgainAndOneCommittedIsNot() throws {
        let multi = Self.bytes(100, seed: 9)
        // A multipart ETag is no MD5: only a copy record proves the gateway has these bytes.
        putSource("data", "committed", multi, etag: "0123456789abcdef0123456789abcdef-2")
        putSource("data", "lost", multi, etag: "fedcba9876543210fedcba9876543210-2")
        let p = try plan("fi")
        // A previous run's writes: "committed" went through; "lost" crashed between the record
        // and the commit (its record names an ETag no gateway object has).
        _ = try gw.context.migrationPlan(for: snapshot(), options: .init(constraint: "fi"), by: principal)
        XCTAssertEqual(
            gw.send(
                "PUT", "/data",
                body: Array(
                    "<CreateBucketConfiguration><LocationConstraint>fi</LocationConstraint></CreateBucketConfiguration>"
                        .utf8)
            ).status, 200)
        XCTAssertEqual(gw.send("PUT", "/data/committed", body: multi).status, 200)
        let md5 = hexEncode(Digest.hash(.md5, multi))
        for (key, etag) in [
            ("committed", "0123456789abcdef0123456789abcdef-2"), ("lost", "fedcba9876543210fedcba9876543210-2"),
        ] {
            try gw.metadata.recordMigratedObject(
                MigratedObject(
                    bucket: "data", key: key, sourceETag: etag, size: 100, gatewayETag: md5, verification: "size",
                    runId: "old", updatedAt: 1))
        }
        let report = runner(p).run()
        XCTAssertEqual(report.objectsPresent, 1, report.text)
        XCTAssertEqual(report.objectsCopied, 1, report.text)
        XCTAssertEqual(source.reads, 1, "only the object whose commit was lost is read")
        XCTAssertEqual(get("data", "lost").body, multi)
    }

    // MARK: - Verification

    /// Buckets whose objects have ETags and checksums of the test's choosing (a multipart
    /// upload's, say): kept here and handed to the source whole. Put these before `source.put`.
    var chosen: [String: InMemorySourceAccount.Bucket] = [:]

    func putSource(
        _ bucket: String, _ key: String, _ bytes: [UInt8], etag: String, checksums: [String: String] = [:],
        headers: [String: String] = [:]
    ) {
        chosen[bucket, default: .init()].objects[key] = (
            SourceObject(key: key, size: Int64(bytes.count), etag: etag, lastModified: 0), bytes,
            SourceObjectHead(size: Int64(bytes.count), etag: etag, headers: headers, checksums: checksums)
        )
        source.addBucket(bucket, chosen[bucket]!)
    }

    static func multipartETag(_ bytes: [UInt8], partSize: Int) -> String {
        var digests: [UInt8] = []
        var parts = 0
        var i = 0
        repeat {
            digests += Digest.hash(.md5, Array(bytes[i..<min(bytes.count, i + partSize)]))
            parts += 1
            i += partSize
        } while i < bytes.count
        return hexEncode(Digest.hash(.md5, digests)) + "-\(parts)"
    }

    func testPartSizesAMultipartETagAdmits() {
        let mib: Int64 = 1 << 20
        let cases: [(size: Int64, parts: Int, expected: [Int64])] = [
            (13 * mib, 2, [8 * mib, 10 * mib, 10_000_000, 7 * mib]),
            (12 * mib, 3, [5 * mib]),
            (100, 1, [100]),
            (0, 1, []),
            (40 * mib, 5, [8 * mib]),
        ]
        for c in cases {
            let got = SourceETag.partSizeCandidates(size: c.size, parts: c.parts)
            XCTAssertEqual(got.first, c.expected.first, "\(c)")
            for p in got {
                XCTAssertTrue(c.parts == 1 || (Int64(c.parts - 1) * p < c.size && c.size <= Int64(c.parts) * p), "\(p)")
            }
            XCTAssertLessThanOrEqual(got.count, 4)
        }
        XCTAssertEqual(SourceETag.partCount("0123456789abcdef0123456789abcdef-12"), 12)
        XCTAssertNil(SourceETag.partCount("0123456789abcdef0123456789abcdef"))
        XCTAssertNil(SourceETag.partCount("xyz-2"))
        XCTAssertTrue(SourceETag.isPlainMD5("0123456789abcdef0123456789abcdef"))
        XCTAssertFalse(SourceETag.isPlainMD5("0123456789ABCDEF0123456789abcdef-1"))
    }

    func testEachObjectGetsTheStrongestVerificationItsSourceAllows() throws {
        let big = Self.bytes(12 << 20, seed: 3)
        putSource("mixed", "boto3-default", big, etag: Self.multipartETag(big, partSize: 8 << 20))
        putSource("mixed", "odd-parts", big, etag: Self.multipartETag(big, partSize: (5 << 20) + 12345))
        var hasher = CRC32()
        hasher.update(big)
        let crc = base64Encode(hasher.finalize())
        putSource(
            "mixed", "with-checksum", big, etag: Self.multipartETag(big, partSize: (5 << 20) + 1),
            checksums: ["crc32": crc])
        putSource(
            "mixed", "composite-checksum", big, etag: Self.multipartETag(big, partSize: (5 << 20) + 2),
            checksums: ["crc32": "AAAAAA==-3"])
        source.put("mixed", "plain", Self.bytes(1000))
        let events = Mutex<[String: String]>([:])
        let report = runner(try plan("fi")) { e in events.withLock { $0[e.key] = e.verification ?? e.reason } }.run()
        XCTAssertEqual(report.objectsCopied, 5, report.text)
        XCTAssertEqual(
            events.withLock { $0 },
            [
                "boto3-default": "multipart-etag", "odd-parts": "size", "with-checksum": "checksum-crc32",
                "composite-checksum": "size", "plain": "md5",
            ])
        XCTAssertEqual(report.verification, ["multipart-etag": 1, "size": 2, "checksum-crc32": 1, "md5": 1])
        XCTAssertEqual(
            try gw.metadata.migratedObject(bucket: "mixed", key: "boto3-default")?.verification, "multipart-etag")
        // The gateway keeps the verified checksum with the object.
        XCTAssertEqual(try gw.metadata.object(bucket: "mixed", key: "with-checksum")?.checksums["crc32"], crc)
        for key in ["boto3-default", "odd-parts", "with-checksum", "plain"] {
            XCTAssertEqual(get("mixed", key).body.count, key == "plain" ? 1000 : big.count)
        }
    }

    func testBytesThatDoNotMatchTheSourceAreNeverVisible() throws {
        let data = Self.bytes(5000)
        putSource("bad", "wrong-md5", data, etag: String(repeating: "0", count: 32))
        putSource(
            "bad", "wrong-checksum", data, etag: "00000000000000000000000000000000-1", checksums: ["crc32": "AAAAAA=="])
        let report = runner(try plan("fi")).run()
        XCTAssertEqual(report.objectsCopied, 0, report.text)
        XCTAssertEqual(report.objectsSkipped, 2)
        let reasons = Dictionary(uniqueKeysWithValues: report.skipped.map { ($0.key, $0.reason) })
        XCTAssertTrue(reasons["wrong-md5"]?.hasPrefix("verification failed: the MD5") == true, "\(reasons)")
        XCTAssertTrue(reasons["wrong-checksum"]?.contains("BadDigest") == true, "\(reasons)")
        XCTAssertEqual(get("bad", "wrong-md5").status, 404)
        XCTAssertEqual(get("bad", "wrong-checksum").status, 404)
        XCTAssertEqual(gw.zones["fi-1"]!.blobCount, 0, "no blob left behind")
    }

    func testObjectsAboveTheSinglePutLimitGoUpInParts() throws {
        let big = Self.bytes(13 << 20, seed: 5)
        putSource("large", "cli-upload", big, etag: Self.multipartETag(big, partSize: 8 << 20))
        source.put("large", "single", big)
        var options = MigrationRunner.Options()
        options.singlePutLimit = 6 << 20
        options.partSize = 5 << 20
        let p = try plan("fi")
        let report = runner(p, options: options).run()
        XCTAssertEqual(report.objectsCopied, 2, report.text)
        // The source's own part size is reused where it can be learned: the ETag is kept.
        XCTAssertEqual(
            try gw.metadata.object(bucket: "large", key: "cli-upload")?.etag, Self.multipartETag(big, partSize: 8 << 20)
        )
        XCTAssertEqual(
            try gw.metadata.object(bucket: "large", key: "single")?.etag, Self.multipartETag(big, partSize: 5 << 20))
        XCTAssertEqual(report.verification, ["multipart-etag": 1, "md5": 1])
        XCTAssertEqual(get("large", "single").body, big)
        XCTAssertEqual(get("large", "cli-upload").body, big)
        XCTAssertEqual(runner(p, options: options).run().objectsPresent, 2)
        XCTAssertEqual(source.reads, 2)
    }

    // MARK: - Skips and failures

    func testWhatCannotBeCopiedIsSkippedWithItsReason() throws {
        source.addBucket("odd")
        source.put("odd", "archived", Self.bytes(10), storageClass: "GLACIER")
        source.put("odd", "denied", Self.bytes(10))
        source.put("odd", "changing", Self.bytes(10))
        source.put("odd", "vanishing", Self.bytes(10))
        source.put("odd", "fine", Self.bytes(10))
        source.put("odd", String(repeating: "k", count: 1025), Self.bytes(10))
        let scripted = ScriptedSource(source) { key in
            switch key {
            case "archived": throw SourceError.failed(operation: "GetObject", status: 403, code: "InvalidObjectState")
            case "denied": throw SourceError.accessDenied(operation: "GetObject odd")
            case "vanishing": throw SourceError.noSuchKey(key)
            case "changing": return "0123456789abcdef0123456789abcdef"
            default: return nil
            }
        }
        let report = runner(try plan("fi"), source: scripted).run()
        XCTAssertEqual(report.state, .done)
        XCTAssertEqual(report.objectsCopied, 1)
        XCTAssertEqual(
            Dictionary(uniqueKeysWithValues: report.skipped.map { ($0.key.prefix(8), $0.reason) }),
            [
                "archived": "in an archive storage class (GLACIER, DEEP_ARCHIVE): restore it at the source first",
                "denied": "GetObject odd: AccessDenied",
                "changing": "changed at the source since it was listed; a later run copies the new version",
                "vanishin": "deleted at the source since it was listed",
                "kkkkkkkk": "the key is longer than 1024 bytes",
            ])
        XCTAssertEqual(report.buckets.first?.objectsSkipped, 5)
    }

    func testARunWhoseProcessIsGoneIsInterruptedAndMayBeStartedAgain() throws {
        fill()
        let p = try plan("fi")
        let first = runner(p)
        first.save(force: true)
        XCTAssertThrowsError(try MigrationRunner.checkNotRunning(p.plan.id, gw.context), "this process runs it")
        var row = try XCTUnwrap(try gw.metadata.migrationRun(id: p.plan.id))
        let host = String(MigrationRunStatus.thisProcess.split(separator: ":").dropLast().joined(separator: ":"))
        row.document = row.document.replacingOccurrences(
            of: MigrationRunStatus.thisProcess, with: "\(host):\(Int32.max - 1)")
        try gw.metadata.saveMigrationRun(row)
        XCTAssertEqual(MigrationRunStatus(row: row, now: gw.context.clock.now())?.state, .interrupted)
        XCTAssertNoThrow(try MigrationRunner.checkNotRunning(p.plan.id, gw.context))
    }

    func testRejectedCredentialsFailTheRunAndATakenBucketFailsOnlyItself() throws {
        fill()
        let p = try plan("fi")
        // Another user of the tenant owns "logs" by now.
        try gw.metadata.createBucket(
            BucketRecord(
                name: "logs", owner: "someone-else", createdAt: 1, locationConstraint: "fi", zones: ["fi-1", "fi-2"],
                backendBucket: "s3gw-x"))
        let report = runner(p).run()
        XCTAssertEqual(report.state, .done)
        XCTAssertEqual(report.buckets.map(\.targetBucket), ["logs", "photos"])
        XCTAssertEqual(report.buckets.map(\.state), ["failed", "done"])
        XCTAssertEqual(report.buckets[0].error, "the bucket logs exists and belongs to another user")
        let refused = ScriptedSource(source) { _ in throw SourceError.invalidCredentials(code: "ExpiredToken") }
        let failed = runner(try plan("fi", prefix: "new-", id: "plan-2"), source: refused).run()
        XCTAssertEqual(failed.state, .failed)
        XCTAssertEqual(failed.error, "the source refused the credentials (ExpiredToken)")
        // The bucket under way failed with the run; the one it never reached did not fail.
        XCTAssertEqual(failed.buckets.map(\.state), ["failed", "not_started"])
        XCTAssertEqual(failed.failedBuckets, 1)
    }
}
