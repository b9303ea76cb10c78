import Foundation
import GatewayCore
import GatewayTesting
import Logging
import S3Protocol
import XCTest

@testable import Gateway

/// The agent's lifecycle runner over the in-memory store, its `now` given: what each pass
/// removes (bytes included), what it leaves (locked versions), and where a cut pass resumes.
final class LifecycleRunnerTests: XCTestCase {
    var gw: TestGateway!
    let day = 86_400.0
    var t0: Double { TestGateway.now }

    override func setUp() {
        gw = TestGateway()
    }

    func bucket(_ name: String, versioning: Versioning = .unversioned, rules: String) throws {
        XCTAssertEqual(gw.send("PUT", "/\(name)").status, 200)
        if versioning != .unversioned { try gw.metadata.setVersioning(bucket: name, versioning) }
        let doc = "<LifecycleConfiguration>\(rules)</LifecycleConfiguration>"
        let c = try LifecycleXML.parse(Array(doc.utf8))
        try gw.metadata.setLifecycle(bucket: name, LifecycleXML.render(c), ruleIds: c.ruleIds)
    }

    /// Writes a version of `key` at `time` whose bytes are a blob in the zone.
    @discardableResult
    func put(_ bucket: String, _ key: String, at time: Double, retention: Retention? = nil) throws -> ObjectRecord {
        let b = try XCTUnwrap(try gw.metadata.bucket(named: bucket))
        let blob = gw.zone.plant([1, 2, 3], backendBucket: gw.context.backendBucket(b, in: "zone-a"))
        var o = ObjectRecord(
            bucket: bucket, key: key, size: 3, etag: "e", lastModified: time, contentType: "", headers: [],
            checksums: [:], zone: "zone-a", blob: blob)
        o.retention = retention
        return try gw.metadata.putVersion(o, condition: nil).stored
    }

    func versions(_ bucket: String) throws -> [String] {
        try gw.metadata.listVersions(bucket: bucket, query: VersionListQuery()).entries.map {
            "\($0.record.key):\($0.record.isDeleteMarker ? "marker" : "v")\($0.isLatest ? "*" : "")"
        }
    }

    let expireDay = "<Rule><ID>day</ID><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>"

    func testExpiresCurrentObjectsInAnUnversionedBucket() throws {
        try bucket("plain", rules: expireDay)
        try put("plain", "a", at: t0)
        try put("plain", "b", at: t0 + 2 * day)
        XCTAssertEqual(gw.zone.blobCount, 2)
        let due = LifecycleEvaluator.due(from: t0, days: 1)
        XCTAssertEqual(try Lifecycle.run(gw.context, now: due - 1).expired, 0)
        let r = try Lifecycle.run(gw.context, now: due)
        XCTAssertEqual(r.expired, 1)
        XCTAssert(r.finished)
        XCTAssertEqual(try versions("plain"), ["b:v*"])
        XCTAssertEqual(gw.zone.blobCount, 1, "the expired object's bytes are gone")
        let deleted = try gw.metadata.auditRecords(AuditQuery(bucket: "plain"))
        XCTAssert(deleted.contains { $0.change == "object.delete" && $0.key == "a" }, "\(deleted.map(\.change))")
    }

    /// The runner judged a version the latest, then a client wrote: the expiry names the judged
    /// seq, and the store (in the delete's transaction) leaves the client's write alone.
    func testACurrentExpiryLeavesAWriteThatLandedAfterTheJudgement() throws {
        for versioning in [Versioning.unversioned, .enabled] {
            let name = versioning == .enabled ? "race-v" : "race-u"
            try bucket(name, versioning: versioning, rules: expireDay)
            let judged = try put(name, "k", at: t0)
            try put(name, "k", at: t0 + 3 * day)
            let before = try versions(name)
            let b = try XCTUnwrap(try gw.metadata.bucket(named: name))
            var step = Lifecycle.Step(ctx: gw.context, now: t0 + 4 * day, budget: .max, hooks: Lifecycle.Hooks())
            step.remove([Lifecycle.Removal(judged: judged, latest: true, versionId: nil)], in: b)
            XCTAssertEqual(step.report.expired, 0, name)
            XCTAssertEqual(step.report.changed, 1, name)
            XCTAssertEqual(try versions(name), before, name)
            XCTAssertEqual(try versions(name).first, "k:v*", name)
            // Judged again, the latest does expire.
            let latest = try XCTUnwrap(try gw.metadata.latestVersion(bucket: name, key: "k"))
            step.remove([Lifecycle.Removal(judged: latest, latest: true, versionId: nil)], in: b)
            XCTAssertEqual(step.report.expired, 1, name)
            XCTAssertEqual(try versions(name).first, versioning == .enabled ? "k:marker*" : nil, name)
        }
    }

    func testExpiresCurrentWithAMarkerAndNoncurrentVersionsInAVersionedBucket() throws {
        try bucket(
            "vers", versioning: .enabled,
            rules: expireDay
                + "<Rule><ID>nc</ID><Filter/><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>1</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule>"
                + "<Rule><ID>markers</ID><Filter/><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule>"
        )
        // k: three versions written a day apart (22:13 UTC); the newest stays current.
        let v1 = try put("vers", "k", at: t0)
        try put("vers", "k", at: t0 + day)
        try put("vers", "k", at: t0 + 2 * day)
        // gone: only a delete marker is left (an expired object delete marker).
        let gone = try put("vers", "gone", at: t0)
        _ = try gw.metadata.deleteVersion(bucket: "vers", key: "gone", versionId: nil, bypassGovernance: false, now: t0)
        _ = try gw.metadata.deleteVersion(
            bucket: "vers", key: "gone", versionId: gone.versionId, bypassGovernance: false, now: t0)
        XCTAssertEqual(try versions("vers"), ["gone:marker*", "k:v*", "k:v", "k:v"])
        let backend = gw.context.backendBucket(try XCTUnwrap(try gw.metadata.bucket(named: "vers")), in: "zone-a")

        // Three days on: v1 (noncurrent since day 1, due the midnight after day 2) goes, v2 is
        // the one newer noncurrent version kept, and the current one is due only at midnight.
        let r1 = try Lifecycle.run(gw.context, now: t0 + 3 * day)
        XCTAssertEqual(r1.removed, 2, "the oldest noncurrent version and the lone marker")
        XCTAssertEqual(r1.expired, 0)
        XCTAssertEqual(try versions("vers"), ["k:v*", "k:v"])
        XCTAssertNil(try gw.zone.blobInfo(backendBucket: backend, blob: v1.blob), "the removed version's bytes went")
        // A day later the current version expires: a delete marker on top, nothing removed.
        let r2 = try Lifecycle.run(gw.context, now: t0 + 4 * day)
        XCTAssertEqual(r2.expired, 1)
        XCTAssertEqual(r2.removed, 0)
        XCTAssertEqual(try versions("vers"), ["k:marker*", "k:v", "k:v"])
        // Later still: the newest noncurrent version is kept, the older goes.
        let r3 = try Lifecycle.run(gw.context, now: t0 + 20 * day)
        XCTAssertEqual(r3.removed, 1)
        XCTAssertEqual(r3.expired, 0, "a marker on top is not expired again")
        XCTAssertEqual(try versions("vers"), ["k:marker*", "k:v"])
    }

    func testLockedVersionsAreSkippedAndCounted() throws {
        try bucket(
            "locked", versioning: .enabled,
            rules:
                "<Rule><ID>nc</ID><Filter/><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration></Rule>"
        )
        try put("locked", "k", at: t0, retention: Retention(mode: .compliance, until: t0 + 100 * day))
        try put("locked", "k", at: t0 + day)
        let r = try Lifecycle.run(gw.context, now: t0 + 5 * day)
        XCTAssertEqual(r.locked, 1)
        XCTAssertEqual(r.removed, 0)
        XCTAssertEqual(try versions("locked"), ["k:v*", "k:v"])
        // Once the retention ran out, the next pass removes it.
        XCTAssertEqual(try Lifecycle.run(gw.context, now: t0 + 101 * day).removed, 1)
        XCTAssertEqual(try versions("locked"), ["k:v*"])
    }

    func testAbortsOldUploadsOnly() throws {
        try bucket(
            "ups",
            rules:
                "<Rule><ID>abort</ID><Filter><Prefix>tmp/</Prefix></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>"
        )
        XCTAssertEqual(gw.send("POST", "/ups/tmp/old?uploads").status, 200)
        XCTAssertEqual(gw.send("POST", "/ups/keep/old?uploads").status, 200)
        let r = try Lifecycle.run(gw.context, now: t0 + 3 * day)
        XCTAssertEqual(r.aborted, 1)
        let left = try gw.metadata.uploads(initiatedBefore: .infinity, limit: 10).map(\.key)
        XCTAssertEqual(left, ["keep/old"])
        XCTAssertEqual(try gw.metadata.auditRecords(AuditQuery(change: "upload.abort")).count, 1)
    }

    func testACutPassResumesWhereItStoppedAndRecordsItsEnd() throws {
        try bucket("aaa", rules: expireDay)
        try bucket("bbb", rules: expireDay)
        XCTAssertEqual(gw.send("PUT", "/nolifecycle").status, 200)
        for k in ["1", "2", "3"] {
            try put("aaa", k, at: t0)
            try put("bbb", k, at: t0)
        }
        try put("nolifecycle", "x", at: t0)
        let now = t0 + 5 * day
        XCTAssert(try Lifecycle.due(gw.context, now: now, interval: 3600))
        let first = try Lifecycle.run(gw.context, now: now, budget: 2)
        XCTAssertFalse(first.finished)
        XCTAssertEqual(first.keys, 2)
        XCTAssertEqual(try gw.metadata.agentState("lifecycle"), "aaa\nkeys\n2")
        XCTAssert(try Lifecycle.due(gw.context, now: now, interval: 3600), "a cut pass goes on at once")
        let second = try Lifecycle.run(gw.context, now: now, budget: 2)
        XCTAssertEqual(second.keys, 2)
        XCTAssertEqual(try gw.metadata.agentState("lifecycle"), "bbb\nkeys\n1")
        let rest = try Lifecycle.run(gw.context, now: now)
        XCTAssert(rest.finished)
        XCTAssertEqual(rest.keys, 2)
        XCTAssertEqual(first.expired + second.expired + rest.expired, 6, "every key once")
        XCTAssertEqual(try versions("aaa") + versions("bbb"), [])
        XCTAssertEqual(try versions("nolifecycle"), ["x:v*"], "a bucket without rules is not touched")
        XCTAssertEqual(try gw.metadata.agentState("lifecycle"), "")
        XCTAssertEqual(try gw.metadata.agentState("lifecycle:last-pass"), String(now))
        XCTAssertFalse(try Lifecycle.due(gw.context, now: now + 10, interval: 3600))
        XCTAssert(try Lifecycle.due(gw.context, now: now + 3600, interval: 3600))
    }

    /// A tenant's bucket is stored as "tenant/name": the cursor keeps bucket and key apart, so
    /// a bucket with more keys than a step's budget is walked on, not restarted from its first
    /// key in a hot loop.
    func testATenantBucketLargerThanAStepIsWalkedToItsEnd() throws {
        let name = TenantRecord.qualifiedBucket(tenant: "acme", name: "logs")
        _ = try gw.metadata.createBucket(
            BucketRecord(
                name: name, owner: gw.rootID, createdAt: t0, locationConstraint: "", zones: ["zone-a"],
                backendBucket: "acme-logs", tenant: "acme"))
        let c = try LifecycleXML.parse(Array("<LifecycleConfiguration>\(expireDay)</LifecycleConfiguration>".utf8))
        try gw.metadata.setLifecycle(bucket: name, LifecycleXML.render(c), ruleIds: c.ruleIds)
        for k in ["a/1", "a/2", "b", "c/d/e"] { try put(name, k, at: t0) }
        let now = t0 + 5 * day
        var steps: [Lifecycle.Report] = []
        while steps.count < 10, steps.last?.finished != true {
            let r = try Lifecycle.run(gw.context, now: now, budget: 1)
            XCTAssert(r.progressed, "every step moves on")
            XCTAssertGreaterThan(Lifecycle.pause(after: r), 0, "the agent pauses after every step")
            steps.append(r)
            if !r.finished {
                XCTAssertEqual(
                    try gw.metadata.agentState("lifecycle"),
                    "acme/logs\nkeys\n" + ["a/1", "a/2", "b", "c/d/e"][steps.count - 1])
            }
        }
        XCTAssertEqual(steps.map(\.keys), [1, 1, 1, 1], "the step of the last key ends the pass")
        XCTAssertEqual(steps.map(\.expired).reduce(0, +), 4, "each key once")
        XCTAssert(steps.last?.finished == true)
        XCTAssertEqual(try versions(name), [])
    }

    func testTheAgentNeverSpins() {
        var r = Lifecycle.Report()
        XCTAssertEqual(Lifecycle.pause(after: r), 60, "a step that did not move waits")
        r.progressed = true
        XCTAssertGreaterThan(Lifecycle.pause(after: r), 0)
        r.finished = true
        XCTAssertEqual(Lifecycle.pause(after: r), 1)
    }

    /// A key with more versions than a listing page is judged as its versions stream by: its
    /// newer noncurrent versions are counted across pages, and the removals wait until the
    /// listing has moved past them.
    func testAKeyWithManyVersionsIsJudgedAcrossPages() throws {
        try bucket(
            "many", versioning: .enabled,
            rules:
                "<Rule><ID>nc</ID><Filter/><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>2</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule>"
        )
        let count = Lifecycle.pageSize * 2 + 7
        for i in 0..<count { try put("many", "k", at: t0 + Double(i)) }
        try put("many", "z", at: t0)
        let r = try Lifecycle.run(gw.context, now: t0 + 5 * day)
        XCTAssert(r.finished)
        XCTAssertEqual(r.keys, 2)
        XCTAssertEqual(r.removed, count - 3, "all but the current version and the two newest noncurrent ones")
        XCTAssertEqual(try versions("many"), ["k:v*", "k:v", "k:v", "z:v*"])
        XCTAssertEqual(gw.zone.blobCount, 4)
    }

    /// Uploads count toward a step's budget like keys, and a cut step resumes after the last
    /// upload looked at.
    func testUploadsCountTowardTheBudget() throws {
        try bucket(
            "ups",
            rules:
                "<Rule><ID>abort</ID><Filter/><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>"
        )
        for k in ["u1", "u2", "u3"] { XCTAssertEqual(gw.send("POST", "/ups/\(k)?uploads").status, 200) }
        try put("ups", "obj", at: t0)
        let first = try Lifecycle.run(gw.context, now: t0 + 3 * day, budget: 2)
        XCTAssertFalse(first.finished)
        XCTAssertEqual(first.uploads, 2)
        XCTAssertEqual(first.aborted, 2)
        XCTAssertEqual(first.keys, 0)
        let rest = try Lifecycle.run(gw.context, now: t0 + 3 * day)
        XCTAssert(rest.finished)
        XCTAssertEqual(rest.aborted, 1)
        XCTAssertEqual(rest.keys, 1)
        XCTAssertEqual(try gw.metadata.uploads(initiatedBefore: .infinity, limit: 10).count, 0)
    }

    /// A failed step keeps what it did (the cursor is saved before the error is thrown), and a
    /// key that fails every step is skipped after `maxFailures` of them, so the pass ends.
    func testAFailingKeyKeepsProgressAndIsSkippedAfterRepeatedFailures() throws {
        try bucket("fail", rules: expireDay)
        for k in ["a", "bad", "c"] { try put("fail", k, at: t0) }
        let now = t0 + 5 * day
        var hooks = Lifecycle.Hooks()
        hooks.atKey = { key throws(StoreError) in if key == "bad" { throw .internalFailure("disk says no") } }
        for attempt in 1...Lifecycle.maxFailures {
            XCTAssertThrowsError(
                try Lifecycle.run(gw.context, now: now, budget: .max, hooks: hooks), "attempt \(attempt)")
            XCTAssertEqual(try versions("fail").count, 2, "a went in the first step, and stays gone")
        }
        XCTAssertEqual(try gw.metadata.agentState("lifecycle"), "fail\nkeys\nbad", "skipped after repeated failures")
        let r = try Lifecycle.run(gw.context, now: now, budget: .max, hooks: hooks)
        XCTAssert(r.finished)
        XCTAssertEqual(r.expired, 1, "c")
        XCTAssertEqual(try versions("fail"), ["bad:v*"])
    }

    // MARK: a client writing between judging and removing

    /// Unversioned: the expired object is judged, a client PUTs the key again, the runner's
    /// removal must not take the new object.
    func testAWriteAfterJudgingIsNotExpired() throws {
        try bucket("race", rules: expireDay)
        try put("race", "k", at: t0)
        var hooks = Lifecycle.Hooks()
        hooks.beforeRemoval = { [self] _ in _ = try? put("race", "k", at: t0 + 5 * day) }
        let r = try Lifecycle.run(gw.context, now: t0 + 5 * day, budget: .max, hooks: hooks)
        XCTAssertEqual(r.expired, 0)
        XCTAssertEqual(r.changed, 1)
        XCTAssertEqual(try gw.metadata.latestVersion(bucket: "race", key: "k")?.lastModified, t0 + 5 * day)
    }

    /// Suspended: the noncurrent null version is judged; a client's PUT replaces it with a new
    /// (current) null version; the runner's removal of id "null" must not take that one.
    func testANewNullVersionAfterJudgingIsNotRemoved() throws {
        try bucket(
            "susp",
            rules:
                "<Rule><ID>nc</ID><Filter/><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration></Rule>"
        )
        try put("susp", "k", at: t0)  // the null version
        try gw.metadata.setVersioning(bucket: "susp", .enabled)
        try put("susp", "k", at: t0 + 1)  // makes the null version noncurrent
        try gw.metadata.setVersioning(bucket: "susp", .suspended)
        var hooks = Lifecycle.Hooks()
        hooks.beforeRemoval = { [self] _ in _ = try? put("susp", "k", at: t0 + 5 * day) }
        let r = try Lifecycle.run(gw.context, now: t0 + 5 * day, budget: .max, hooks: hooks)
        XCTAssertEqual(r.removed, 0)
        XCTAssertEqual(r.changed, 1)
        let latest = try XCTUnwrap(try gw.metadata.latestVersion(bucket: "susp", key: "k"))
        XCTAssertEqual(latest.versionId, "null")
        XCTAssertEqual(latest.lastModified, t0 + 5 * day, "the client's new object is there")
        XCTAssertEqual(try versions("susp"), ["k:v*", "k:v"])
    }

    /// Enabled: a noncurrent version is judged; the user deletes the delete marker above it, so
    /// it is the current version again; the runner must not remove it by id.
    func testARestoredVersionIsNotRemoved() throws {
        try bucket(
            "restore", versioning: .enabled,
            rules:
                "<Rule><ID>nc</ID><Filter/><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration></Rule>"
        )
        let v1 = try put("restore", "k", at: t0)
        let marker = try XCTUnwrap(
            try gw.metadata.deleteVersion(bucket: "restore", key: "k", versionId: nil, bypassGovernance: false, now: t0)
                .marker)
        var hooks = Lifecycle.Hooks()
        hooks.beforeRemoval = { [self] _ in
            _ = try? gw.metadata.deleteVersion(
                bucket: "restore", key: "k", versionId: marker.versionId, bypassGovernance: false, now: t0 + 5 * day)
        }
        let r = try Lifecycle.run(gw.context, now: t0 + 5 * day, budget: .max, hooks: hooks)
        XCTAssertEqual(r.removed, 0)
        XCTAssertEqual(r.changed, 1)
        XCTAssertEqual(try gw.metadata.latestVersion(bucket: "restore", key: "k")?.versionId, v1.versionId)
        XCTAssertEqual(try versions("restore"), ["k:v*"])
    }

    func testOffsetClockFollowsItsFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("offset-\(RandomID.make())").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let clock = OffsetClock(base: FixedClock(t0), path: path)
        XCTAssertEqual(clock.now(), t0, "no file: no offset")
        try "172800\n".write(toFile: path, atomically: false, encoding: .utf8)
        XCTAssertEqual(clock.now(), t0 + 2 * day)
        try "3600".write(toFile: path, atomically: false, encoding: .utf8)
        XCTAssertEqual(clock.now(), t0 + 3600)
        // Only forward, and only by a real number.
        for bad in ["-86400", "nan", "inf", "1e400", "soon"] {
            try bad.write(toFile: path, atomically: false, encoding: .utf8)
            XCTAssertEqual(clock.now(), t0, bad)
        }
    }

    /// The test clock takes both switches, naming the same file: the environment variable
    /// alone (or the config alone) leaves the agent on the real clock.
    func testTheTestClockNeedsTheConfigAndTheEnvironment() throws {
        let base = FixedClock(t0)
        let logger = Logger(label: "test")
        let previous = ProcessInfo.processInfo.environment[OffsetClock.environmentVariable]
        defer {
            if let previous {
                setenv(OffsetClock.environmentVariable, previous, 1)
            } else {
                unsetenv(OffsetClock.environmentVariable)
            }
        }
        unsetenv(OffsetClock.environmentVariable)
        XCTAssertFalse(
            OffsetClock.fromEnvironment(base: base, configured: "/tmp/offset", logger: logger) is OffsetClock)
        setenv(OffsetClock.environmentVariable, "/tmp/offset", 1)
        XCTAssertFalse(OffsetClock.fromEnvironment(base: base, configured: nil, logger: logger) is OffsetClock)
        XCTAssertFalse(OffsetClock.fromEnvironment(base: base, configured: "/tmp/other", logger: logger) is OffsetClock)
        XCTAssert(OffsetClock.fromEnvironment(base: base, configured: "/tmp/offset", logger: logger) is OffsetClock)
    }
}
