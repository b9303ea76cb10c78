import Foundation
import GatewayCore
import Logging
import XCTest

@testable import Gateway

/// Queries over the log: filters, the newest records across rotated files, a cursor that
/// survives rotations, and the admin API's answer.
final class OplogReaderTests: XCTestCase, @unchecked Sendable {
    var dir: String!
    let t0 = 1_700_000_000.0

    override func setUp() {
        dir = NSTemporaryDirectory() + "oplog-read-\(UUID().uuidString)"
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: dir)
    }

    func settings(maxBytes: Int = 64 << 20, files: Int = 50) -> OplogSettings {
        OplogSettings(path: dir + "/oplog.jsonl", maxBytes: maxBytes, files: files)
    }

    /// Record i: bucket a or b by parity, tenant t<i%3>, a 404 every fifth, started t0+i.
    func trace(_ i: Int) -> RequestTrace {
        let t = RequestTrace(requestId: "R\(i)", origin: .s3, started: t0 + Double(i))
        t.operation = i % 2 == 0 ? "PutObject" : "GetObject"
        t.bucket = i % 2 == 0 ? "a" : "b"
        t.tenant = "t\(i % 3)"
        t.status = i % 5 == 4 ? 404 : 200
        t.errorCode = i % 5 == 4 ? "NoSuchKey" : nil
        t.finished = t0 + Double(i)
        return t
    }

    /// Writes records `range` through a writer (flushing every few, so a small max_bytes rotates).
    func write(_ range: Range<Int>, _ s: OplogSettings) {
        let w = OplogWriter(settings: s, logger: Logger(label: "test"))
        w.start()
        for i in range {
            w.requestFinished(trace(i))
            if i % 4 == 0 { w.flush() }
        }
        w.stop()
    }

    func ids(_ page: OplogPage) -> [String] { page.records.compactMap(\.requestId) }

    func testTheNewestRecordsComeFromAcrossTheRotatedFilesOldestFirst() throws {
        let s = settings(maxBytes: 1024)
        write(0..<100, s)
        XCTAssertTrue(FileManager.default.fileExists(atPath: s.path + ".5"), "rotated")
        let page = try OplogReader.read(s, OplogQuery(limit: 30))
        XCTAssertEqual(ids(page), (70..<100).map { "R\($0)" })
        let all = try OplogReader.read(s, OplogQuery(limit: 1000))
        XCTAssertEqual(ids(all), (0..<100).map { "R\($0)" })
        XCTAssertNotNil(page.next)
    }

    /// Files are read in chunks: lines that cross a chunk's edge (here chunks of a few bytes,
    /// shorter than a line) are read whole, forwards and backwards.
    func testLinesAcrossChunksAreReadWhole() throws {
        let s = settings(maxBytes: 4096)
        write(0..<40, s)
        let whole = try OplogReader.read(s, OplogQuery(limit: 1000))
        XCTAssertEqual(ids(whole), (0..<40).map { "R\($0)" })
        for chunk in [1, 7, 64, 333, 1000] {
            XCTAssertEqual(ids(try OplogReader.read(s, OplogQuery(limit: 1000), chunk: chunk)), ids(whole), "\(chunk)")
            XCTAssertEqual(
                ids(try OplogReader.read(s, OplogQuery(limit: 5), chunk: chunk)), (35..<40).map { "R\($0)" }, "\(chunk)"
            )
            let first = try OplogReader.read(
                s, OplogQuery(limit: 3, after: OplogCursor(inode: 0, offset: 1, fingerprint: 0)), chunk: chunk)
            XCTAssertEqual(ids(first), ["R0", "R1", "R2"], "\(chunk)")
            let rest = try OplogReader.read(s, OplogQuery(limit: 1000, after: try XCTUnwrap(first.next)), chunk: chunk)
            XCTAssertEqual(ids(rest), (3..<40).map { "R\($0)" }, "\(chunk)")
        }
    }

    /// A file truncated while a query reads it (logrotate's copytruncate) ends the reading of
    /// that file; it never crashes the worker answering.
    func testAFileTruncatedUnderTheReaderIsNoCrash() throws {
        let s = settings()
        write(0..<20, s)
        let file = try XCTUnwrap(try OplogReader.LogFile(path: s.path, chunk: 100))
        XCTAssertEqual(truncate(s.path, 150), 0)
        var forward = 0
        try file.linesForward(from: 0) { _, _ in
            forward += 1
            return true
        }
        var backward = 0
        try file.linesBackward { _ in
            backward += 1
            return true
        }
        XCTAssertLessThan(forward, 20)
        XCTAssertEqual(backward, 0)
    }

    func testFiltersCombine() throws {
        let s = settings(maxBytes: 2048)
        write(0..<60, s)
        func q(_ query: OplogQuery) throws -> [Int] {
            try ids(OplogReader.read(s, query)).map { Int($0.dropFirst())! }
        }
        let all = Array(0..<60)
        XCTAssertEqual(try q(OplogQuery(bucket: "a", limit: 1000)), all.filter { $0 % 2 == 0 })
        XCTAssertEqual(try q(OplogQuery(tenant: "t1", limit: 1000)), all.filter { $0 % 3 == 1 })
        XCTAssertEqual(try q(OplogQuery(operation: "GetObject", limit: 1000)), all.filter { $0 % 2 == 1 })
        XCTAssertEqual(try q(OplogQuery(errors: true, limit: 1000)), all.filter { $0 % 5 == 4 })
        XCTAssertEqual(try q(OplogQuery(since: t0 + 50, limit: 1000)), Array(50..<60))
        XCTAssertEqual(
            try q(OplogQuery(bucket: "b", tenant: "t0", errors: true, limit: 1000)),
            all.filter { $0 % 2 == 1 && $0 % 3 == 0 && $0 % 5 == 4 })
        XCTAssertEqual(try q(OplogQuery(bucket: "a", limit: 3)), [54, 56, 58])
        XCTAssertEqual(try q(OplogQuery(bucket: "nothing", limit: 1000)), [])
        // A filter value is matched whole, not as a prefix or inside another field.
        XCTAssertEqual(try q(OplogQuery(tenant: "t", limit: 1000)), [])
        XCTAssertEqual(try q(OplogQuery(operation: "Object", limit: 1000)), [])
    }

    /// A follower passes `next` back as `after`: it gets exactly the records written since,
    /// however many rotations happened in between, and pages through them with `limit`.
    func testACursorContinuesAcrossRotations() throws {
        let s = settings(maxBytes: 1024)
        write(0..<20, s)
        let first = try OplogReader.read(s, OplogQuery(limit: 5))
        XCTAssertEqual(ids(first), (15..<20).map { "R\($0)" })
        let cursor = try XCTUnwrap(first.next)
        XCTAssertEqual(OplogCursor(cursor.description), cursor)
        XCTAssertEqual(ids(try OplogReader.read(s, OplogQuery(after: cursor))), [], "nothing new yet")

        write(20..<80, s)
        var seen: [String] = []
        var after = cursor
        for _ in 0..<20 {
            let page = try OplogReader.read(s, OplogQuery(limit: 7, after: after))
            seen += ids(page)
            after = try XCTUnwrap(page.next)
            if page.records.isEmpty { break }
        }
        XCTAssertEqual(seen, (20..<80).map { "R\($0)" })
        // Filters apply to what follows the cursor too.
        XCTAssertEqual(
            ids(try OplogReader.read(s, OplogQuery(errors: true, limit: 1000, after: cursor))),
            (20..<80).filter { $0 % 5 == 4 }.map { "R\($0)" })
    }

    /// A cursor into a file rotated away (or into a file that never was this log's) starts from
    /// the oldest record there is.
    func testACursorIntoAFileGoneStartsFromTheOldest() throws {
        let s = settings(maxBytes: 1024, files: 2)
        write(0..<10, s)
        let cursor = try XCTUnwrap(try OplogReader.read(s, OplogQuery(limit: 1)).next)
        write(10..<200, s)
        let oldest = try OplogReader.read(s, OplogQuery(limit: 1000))
        let page = try OplogReader.read(s, OplogQuery(limit: 1000, after: cursor))
        XCTAssertEqual(ids(page), ids(oldest))
        XCTAssertEqual(ids(page).last, "R199")
        var stranger = cursor
        stranger.fingerprint &+= 1
        XCTAssertEqual(ids(try OplogReader.read(s, OplogQuery(limit: 1000, after: stranger))), ids(oldest))
    }

    /// Filters read the status and time from the raw line before decoding it: a key that spells
    /// another status, time or bucket cannot make a record match.
    func testAKeyThatSpellsOtherFieldsDoesNotFoolTheFilters() throws {
        let s = settings()
        let t = trace(0)
        t.key = #"x","status":500,"bucket":"zz","tenant":"t9","time":"2999-01-01T00:00:00.000Z"#
        t.userAgent = #"{"time":"2999-01-01T00:00:00.000Z","status":503"#
        let w = OplogWriter(settings: s, logger: Logger(label: "test"))
        w.start()
        w.requestFinished(t)
        w.stop()
        XCTAssertEqual(ids(try OplogReader.read(s, OplogQuery())), ["R0"])
        XCTAssertEqual(ids(try OplogReader.read(s, OplogQuery(errors: true))), [])
        XCTAssertEqual(ids(try OplogReader.read(s, OplogQuery(bucket: "zz"))), [])
        XCTAssertEqual(ids(try OplogReader.read(s, OplogQuery(tenant: "t9"))), [])
        XCTAssertEqual(ids(try OplogReader.read(s, OplogQuery(since: t0 + 1))), [])
        XCTAssertEqual(ids(try OplogReader.read(s, OplogQuery(since: t0))), ["R0"])
        XCTAssertEqual(try OplogReader.read(s, OplogQuery()).records.first?.key, t.key)
    }

    func testTornLinesAndStrangersAreSkipped() throws {
        let s = settings()
        write(0..<3, s)
        let h = try XCTUnwrap(FileHandle(forWritingAtPath: s.path))
        h.seekToEndOfFile()
        h.write(Data("{\"time\":\"2023-11-14T22:13:20.000Z\",\"status\":20\nnot json\n\n{}\n".utf8))
        h.write(Data(OplogLine.encode(trace(3))))
        // A batch being written: no newline yet.
        h.write(Data("{\"time\":\"2023-11-14T22:13:20.000Z\",\"request_id\":\"partial\",\"status\":200".utf8))
        h.closeFile()
        XCTAssertEqual(ids(try OplogReader.read(s, OplogQuery())), ["R0", "R1", "R2", "R3"])
    }

    /// Another writer's batch torn by a full disk, with this writer's next batch glued to it:
    /// the glued record is found (from the line's last `{"time":"`), and the torn writer's next
    /// batch starts on a line of its own.
    func testARecordGluedToAnotherWritersTornBatchIsFound() throws {
        let s = settings()
        write(0..<2, s)
        let torn = OplogLine.encode(trace(2)).dropLast(40)
        let h = try XCTUnwrap(FileHandle(forWritingAtPath: s.path))
        h.seekToEndOfFile()
        h.write(Data(torn))
        h.write(Data(OplogLine.encode(trace(3))))
        h.write(Data([0x0A] + OplogLine.encode(trace(4))))
        h.closeFile()
        XCTAssertEqual(ids(try OplogReader.read(s, OplogQuery())), ["R0", "R1", "R3", "R4"])
        // Filters look at the glued record, not at the torn one before it.
        XCTAssertEqual(ids(try OplogReader.read(s, OplogQuery(tenant: "t2"))), [], "R2 is torn")
        XCTAssertEqual(ids(try OplogReader.read(s, OplogQuery(operation: "GetObject"))), ["R1", "R3"])
        let follower = try OplogReader.read(
            s, OplogQuery(limit: 1000, after: OplogCursor(inode: 0, offset: 1, fingerprint: 0)), chunk: 50)
        XCTAssertEqual(ids(follower), ["R0", "R1", "R3", "R4"])
    }

    /// A region without a newline (a file someone wrote into, a huge torn write) is skipped as
    /// one line too long to be a record, without buffering it, forwards and backwards.
    func testALineTooLongIsSkippedWithoutBufferingIt() throws {
        let s = settings()
        write(0..<3, s)
        let h = try XCTUnwrap(FileHandle(forWritingAtPath: s.path))
        h.seekToEndOfFile()
        h.write(Data(repeating: UInt8(ascii: "x"), count: 3 * OplogReader.maxLine))
        h.write(Data([0x0A] + OplogLine.encode(trace(3))))
        h.closeFile()
        for chunk in [1000, 1 << 20] {
            XCTAssertEqual(
                ids(try OplogReader.read(s, OplogQuery(limit: 1000), chunk: chunk)), ["R0", "R1", "R2", "R3"])
            let forward = try OplogReader.read(
                s, OplogQuery(limit: 1000, after: OplogCursor(inode: 0, offset: 1, fingerprint: 0)), chunk: chunk)
            XCTAssertEqual(ids(forward), ["R0", "R1", "R2", "R3"])
        }
        // A file ending in such a region: its lines before it are read, the region never.
        let tail = OplogSettings(path: dir + "/tail.jsonl", maxBytes: 1 << 30, files: 1)
        write(0..<2, tail)
        let t = try XCTUnwrap(FileHandle(forWritingAtPath: tail.path))
        t.seekToEndOfFile()
        t.write(Data(repeating: UInt8(ascii: "y"), count: 2 * OplogReader.maxLine))
        t.closeFile()
        XCTAssertEqual(ids(try OplogReader.read(tail, OplogQuery(limit: 1000), chunk: 4096)), ["R0", "R1"])
    }

    /// A query reads a bounded number of bytes: a follower whose filter matches nothing gets
    /// a `next` that goes on where the query stopped, and pages through everything.
    func testAQueryReadsABoundedNumberOfBytesAndTellsWhereToGoOn() throws {
        let s = settings(maxBytes: 4096)
        write(0..<200, s)
        let budget = 2000
        var after = OplogCursor(inode: 0, offset: 1, fingerprint: 0)
        var seen: [String] = []
        var queries = 0
        while queries < 1000 {
            queries += 1
            let page = try OplogReader.read(
                s, OplogQuery(operation: "GetObject", limit: 1000, after: after), chunk: 500, budget: budget)
            seen += ids(page)
            let next = try XCTUnwrap(page.next)
            if next == after { break }
            after = next
        }
        XCTAssertGreaterThan(queries, 10, "each query read only part of the log")
        XCTAssertEqual(seen, (0..<200).filter { $0 % 2 == 1 }.map { "R\($0)" })
        // The newest records: what the bounded read back found.
        let newest = try OplogReader.read(s, OplogQuery(bucket: "nothing", limit: 10), chunk: 500, budget: budget)
        XCTAssertEqual(newest.records, [])
        XCTAssertEqual(
            ids(try OplogReader.read(s, OplogQuery(limit: 3), chunk: 500, budget: budget)), ["R197", "R198", "R199"])
    }

    /// A cursor into a file that is now shorter than the cursor's offset (truncated in place)
    /// goes on from that file's start, not from the oldest file.
    func testACursorPastItsFilesEndGoesOnFromThatFilesStart() throws {
        let s = settings(maxBytes: 1 << 30)
        write(0..<10, s)
        let first = try OplogReader.LogFile(path: s.path, chunk: 4096)
        var cursor = try XCTUnwrap(try OplogReader.read(s, OplogQuery(limit: 1)).next)
        XCTAssertEqual(cursor.inode, first?.inode)
        cursor.offset += 100_000
        XCTAssertEqual(ids(try OplogReader.read(s, OplogQuery(limit: 1000, after: cursor))), (0..<10).map { "R\($0)" })
    }

    /// Files are listed under the lock and opened later, one at a time: a file rotated between
    /// the listing and its opening is found under its new name by its inode; one gone is skipped.
    func testAFileRotatedAfterTheListingIsFoundByItsInode() throws {
        let s = settings(maxBytes: 1 << 30, files: 3)
        write(0..<2, s)
        XCTAssertEqual(rename(s.path, s.path + ".1"), 0)
        write(2..<4, s)
        let entries = OplogReader.list(s)
        XCTAssertEqual(entries.map(\.path), [s.path + ".1", s.path])
        // A rotation after the listing.
        XCTAssertEqual(rename(s.path + ".1", s.path + ".2"), 0)
        XCTAssertEqual(rename(s.path, s.path + ".1"), 0)
        let older = try XCTUnwrap(try OplogReader.open(entries[0], s, chunk: 4096))
        defer { older.close() }
        XCTAssertEqual(older.path, s.path + ".2")
        XCTAssertEqual(older.inode, entries[0].inode)
        XCTAssertEqual(try XCTUnwrap(try OplogReader.open(entries[1], s, chunk: 4096)).path, s.path + ".1")
        XCTAssertEqual(unlink(s.path + ".2"), 0)
        XCTAssertNil(try OplogReader.open(entries[0], s, chunk: 4096), "gone")
    }

    /// A query over many files keeps no file open after it answers.
    func testAQueryOverManyFilesLeavesNoFileOpen() throws {
        let s = settings(maxBytes: 1024, files: 100)
        write(0..<300, s)
        XCTAssertGreaterThan(s.allPaths.filter { FileManager.default.fileExists(atPath: $0) }.count, 40)
        let before = try fdCount()
        XCTAssertEqual(ids(try OplogReader.read(s, OplogQuery(limit: 1000))).count, 300)
        XCTAssertEqual(
            ids(
                try OplogReader.read(
                    s, OplogQuery(limit: 1000, after: OplogCursor(inode: 0, offset: 1, fingerprint: 0)))
            ).count, 300)
        XCTAssertEqual(try fdCount(), before)
    }

    func fdCount() throws -> Int { try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count }

    /// Queries while another writer appends and rotates: every answer is records in order,
    /// whole, none twice; a follower gets every record.
    func testQueriesWhileAnotherWriterRotates() throws {
        let s = settings(maxBytes: 2048, files: 100)
        let done = DispatchGroup()
        done.enter()
        DispatchQueue.global().async {
            self.write(0..<400, s)
            done.leave()
        }
        var after = OplogCursor(inode: 0, offset: 1, fingerprint: 0)
        var followed: [String] = []
        var finished = false
        while !finished {
            finished = done.wait(timeout: .now() + 0.001) == .success
            let newest = ids(try OplogReader.read(s, OplogQuery(limit: 20)))
            let numbers = newest.map { Int($0.dropFirst())! }
            XCTAssertEqual(numbers, numbers.sorted())
            XCTAssertEqual(Set(numbers).count, numbers.count)
            let page = try OplogReader.read(s, OplogQuery(limit: 1000, after: after))
            followed += ids(page)
            after = page.next ?? after
        }
        followed += ids(try OplogReader.read(s, OplogQuery(limit: 1000, after: after)))
        XCTAssertEqual(followed, (0..<400).map { "R\($0)" })
    }

    /// The log holds every tenant's requests: an administrator of one tenant cannot read it.
    func testATenantAdministratorCannotReadTheLog() throws {
        let s = settings()
        write(0..<3, s)
        let gw = TestGateway { $0.oplog = s }
        try gw.identityStore.createTenant(TenantRecord(id: "acme", displayName: "acme", createdAt: TestGateway.now))
        try gw.identityStore.createUser(
            UserRecord(
                tenant: "acme", name: "boss", id: CanonicalID.make(),
                permissions: PermissionSet(["admin:*": ["acme"], "s3:*": ["*"]]), createdAt: TestGateway.now))
        try gw.identityStore.createCredential(
            CredentialRecord(
                accessKey: "AKIDACMEBOSS", tenant: "acme", user: "boss",
                sealedSecret: TestGateway.box.seal("boss-secret", context: "AKIDACMEBOSS"), createdAt: TestGateway.now),
            maxKeysPerUser: 2)
        let refused = gw.send("GET", "/admin/oplog", accessKey: "AKIDACMEBOSS", secret: "boss-secret")
        XCTAssertEqual(refused.status, 403, refused.text)
        XCTAssertTrue(refused.text.contains("AccessDenied"), refused.text)
        XCTAssertFalse(refused.text.contains("R0"))
        XCTAssertEqual(gw.send("GET", "/admin/oplog").status, 200)
    }

    func testNoLogAnswersNoRecordsAndNoCursor() throws {
        let page = try OplogReader.read(settings(), OplogQuery())
        XCTAssertEqual(page.records, [])
        XCTAssertNil(page.next)
        let json = String(decoding: try AdminJSON.encoder.encode(page), as: UTF8.self)
        XCTAssertEqual(json, #"{"next":null,"records":[]}"#)
    }

    func testSinceIsAnRFC3339TimeOrAnAge() {
        let now = 1_700_000_000.0
        XCTAssertEqual(OplogQuery.parseSince("15m", now: now), now - 900)
        XCTAssertEqual(OplogQuery.parseSince("2h", now: now), now - 7200)
        XCTAssertEqual(OplogQuery.parseSince("90s", now: now), now - 90)
        XCTAssertEqual(OplogQuery.parseSince("7d", now: now), now - 7 * 86400)
        XCTAssertEqual(OplogQuery.parseSince("2023-11-14T22:13:20Z", now: 0), now)
        XCTAssertEqual(OplogQuery.parseSince("2023-11-14T22:13:20.5Z", now: 0), now + 0.5)
        XCTAssertEqual(OplogQuery.parseSince("2023-11-14T23:13:20+01:00", now: 0), now)
        XCTAssertEqual(OplogQuery.parseSince("2023-11-14T21:43:20.250-00:30", now: 0), now + 0.25)
        for bad in [
            "", "m", "15", "15M", "-5m", "+5m", "15 m", "1234567890s", "2023-11-14", "2023-11-14T22:13:20",
            "2023-11-14t22:13:20z", "2023-13-14T22:13:20Z", "2023-11-14T24:00:00Z", "2023-11-14T22:13:60Z",
            "2023-11-14T22:13:20.Z", "2023-11-14T22:13:20+1:00", "2023-11-14T22:13:20+01:00x", "yesterday",
            "2023-02-31T00:00:00Z", "2023-11-31T00:00:00Z", "2023-11-14T22:13:20.1234567890Z",
            "2023-11-14T22:13:20+24:00", "2023-11-14T22:13:20+01:60",
        ] {
            XCTAssertNil(OplogQuery.parseSince(bad, now: now), bad)
        }
    }

    func testCursorsAreReadOnlyAsWritten() {
        XCTAssertEqual(OplogCursor("12-345-abc"), OplogCursor(inode: 12, offset: 345, fingerprint: 0xabc))
        for bad in ["", "1-2", "1-2-3-4", "+1-2-a", "1-0-a", "1-02-a", "1-2-A", "1-2-g", "a-2-3", "1--2-3", "1-2-"] {
            XCTAssertNil(OplogCursor(bad), bad)
        }
    }

    func testTheAdminAPIAnswersTheLogAndRefusesWhatItCannotRead() throws {
        let s = settings()
        write(0..<10, s)
        let gw = TestGateway { $0.oplog = s }
        func get(_ query: String) -> TestGateway.Response { gw.send("GET", "/admin/oplog" + query) }
        let r = get("?bucket=b&errors=true&limit=10")
        XCTAssertEqual(r.status, 200, r.text)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any])
        let records = try XCTUnwrap(json["records"] as? [[String: Any]])
        XCTAssertEqual(records.map { $0["request_id"] as? String }, ["R9"])
        XCTAssertEqual(records.first?["error_code"] as? String, "NoSuchKey")
        XCTAssertNotNil(json["next"] as? String)
        for bad in ["?since=yesterday", "?errors=yes", "?limit=0", "?limit=1001", "?after=x", "?bucket="] {
            let answer = get(bad)
            XCTAssertEqual(answer.status, 400, bad + " " + answer.text)
            XCTAssertTrue(answer.text.contains("InvalidRequest"), answer.text)
        }
    }
}
