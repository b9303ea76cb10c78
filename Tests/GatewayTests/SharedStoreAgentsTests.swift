import Foundation
import Gateway
import GatewayCore
import GatewayTesting
import MetadataSQL
import Synchronization
import XCTest

/// Several hosts' agents on one metadata store (docs/HOSTS.md): a task one agent does at a time
/// is held under a store lease, replication jobs are claimed once each, and what a dead agent
/// held is taken over once its lease ran out. The SQLite cases open the file twice, as two
/// hosts' processes do.
final class SharedStoreAgentsTests: XCTestCase {
    var fixture: TwoStores!

    override func setUpWithError() throws { fixture = try TwoStores("hosts") }

    override func tearDownWithError() throws { fixture.remove() }

    func stores() throws -> [any MetadataStore] { try fixture.stores(with: TwoStores.replicated) }

    func testALeaseHasOneHolderUntilItEndsOrIsGivenUp() throws {
        for store in try stores() {
            let name = "\(type(of: store))"
            XCTAssertTrue(try store.claimLease("scrub", owner: "h1:1", now: 100, until: 160), name)
            XCTAssertFalse(try store.claimLease("scrub", owner: "h2:1", now: 110, until: 170), "held: \(name)")
            XCTAssertTrue(try store.claimLease("scrub", owner: "h1:1", now: 150, until: 210), "renewed: \(name)")
            XCTAssertFalse(try store.claimLease("scrub", owner: "h2:1", now: 200, until: 260), "renewed: \(name)")
            // Another task's lease is another row.
            XCTAssertTrue(try store.claimLease("health", owner: "h2:1", now: 200, until: 260), name)
            // The holder died: its lease ends, the other host takes it.
            XCTAssertTrue(try store.claimLease("scrub", owner: "h2:1", now: 210, until: 270), "expired: \(name)")
            XCTAssertFalse(try store.claimLease("scrub", owner: "h1:1", now: 220, until: 280), name)
            // Given up: the other takes it at once. A release by a non-holder changes nothing.
            XCTAssertFalse(try store.claimLease("scrub", owner: "h1:1", now: 230, until: 230), name)
            XCTAssertFalse(try store.claimLease("scrub", owner: "h1:1", now: 231, until: 290), name)
            XCTAssertFalse(try store.claimLease("scrub", owner: "h2:1", now: 232, until: 232), "released: \(name)")
            XCTAssertTrue(try store.claimLease("scrub", owner: "h1:1", now: 232, until: 290), name)
        }
    }

    /// Two "hosts" (two store objects on one file, threads each) ask for the same lease at the
    /// same moments: each round exactly one of them gets it.
    func testAgentsAskingAtOnceNeverBothHoldALease() throws {
        _ = try stores()
        let hosts = [
            try sqlStore(dir: fixture.dir), try sqlStore(dir: fixture.dir),
        ]
        let rounds = 40
        let winners = Mutex<[Int: [String]]>([:])
        DispatchQueue.concurrentPerform(iterations: 4) { i in
            let store = hosts[i % 2]
            let owner = "h\(i):1"
            for r in 0..<rounds {
                // Round r's lease: nobody holds it before the round, each asks once.
                if (try? store.claimLease("round-\(r)", owner: owner, now: 0, until: 60)) == true {
                    winners.withLock { $0[r, default: []].append(owner) }
                }
            }
        }
        let got = winners.withLock { $0 }
        XCTAssertEqual(got.count, rounds)
        XCTAssertTrue(got.values.allSatisfy { $0.count == 1 }, "\(got)")
    }

    /// Replication jobs claimed by agents of two hosts at once: each job once; the jobs of an
    /// agent that died go to the other once their lease ended, never while it runs.
    func testJobsAreClaimedOnceAndADeadAgentsJobsAreTakenOver() throws {
        _ = try stores()
        let first = try sqlStore(dir: fixture.dir)
        for i in 0..<60 {
            _ = try first.putObject(
                ObjectRecord(
                    bucket: "b", key: "k\(i)", size: 1, etag: "e", lastModified: 100, contentType: "t", headers: [],
                    checksums: [:], zone: "se-1", blob: "g\(i)",
                    replicas: [Replica(zone: "fi-1", backendBucket: "s3gw-fi")]))
        }
        let hosts = [first, try sqlStore(dir: fixture.dir)]
        let claimed = Mutex<[Int64: [String]]>([:])
        DispatchQueue.concurrentPerform(iterations: 4) { i in
            let owner = "h\(i % 2):\(i)"
            while let jobs = try? hosts[i % 2].claimJobs(owner: owner, now: 100, lease: 30, limit: 3), !jobs.isEmpty {
                claimed.withLock { c in for j in jobs { c[j.id, default: []].append(owner) } }
            }
        }
        let got = claimed.withLock { $0 }
        XCTAssertEqual(got.count, 60)
        XCTAssertTrue(got.values.allSatisfy { $0.count == 1 }, "a job claimed twice")
        // Host 0 dies holding its jobs: nothing to take while their leases run…
        let dead = Set(got.filter { $0.value[0].hasPrefix("h0:") }.keys)
        XCTAssertFalse(dead.isEmpty)
        for (id, owners) in got where owners[0].hasPrefix("h1:") {
            try hosts[1].finishJob(id: id, owner: owners[0], now: 110)
        }
        XCTAssertEqual(try hosts[1].claimJobs(owner: "h1:9", now: 129, lease: 30, limit: 100), [])
        // …then host 1 takes every one of them, and host 0's late report changes nothing.
        let taken = try hosts[1].claimJobs(owner: "h1:9", now: 131, lease: 30, limit: 100)
        XCTAssertEqual(Set(taken.map(\.id)), dead)
        let late = try XCTUnwrap(got[taken[0].id]?.first)
        try hosts[0].finishJob(id: taken[0].id, owner: late, now: 132)
        XCTAssertEqual(
            try hosts[1].jobs(bucket: "b", key: nil, state: .running, after: 0, limit: 100).count, dead.count)
    }

    /// Cloned machines share hostname and state directory path: the id is random, made once
    /// in the state directory at the first start and read back afterwards, so clones started
    /// fresh differ and a restart keeps its id; the config's host_id wins over the file.
    func testTheIdIsMadeOnceInTheStateDirectory() throws {
        let zone =
            "[[zones]]\nname = \"z\"\ncountry = \"fi\"\nregion = \"fi-hel\"\nkind = \"filesystem\"\npath = \"/z\"\n"
        var ids: [String] = []
        for _ in 0..<2 {
            let dir = NSTemporaryDirectory() + "hostid-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            XCTAssertNil(HostIdentity.stored(stateDir: dir, create: false))
            let id = try XCTUnwrap(HostIdentity.stored(stateDir: dir, create: true))
            XCTAssertEqual(HostIdentity.stored(stateDir: dir, create: true), id, "read back, not made again")
            let config = try GatewayConfig.parse("[server]\nstate_dir = \"\(dir)\"\n" + zone, file: "t")
            XCTAssertEqual(config.hostIdentity, id)
            let named = try GatewayConfig.parse(
                "[server]\nstate_dir = \"\(dir)\"\nhost_id = \"gw-1\"\n" + zone, file: "t")
            XCTAssertEqual(named.hostIdentity, "gw-1")
            ids.append(id)
        }
        XCTAssertNotEqual(ids[0], ids[1], "two clones of one machine image")
    }

    /// Two hosts on one machine (same hostname) get different ids from their state
    /// directories; `[server] host_id` names a host outright and is checked.
    func testEachHostHasItsOwnId() throws {
        let zone =
            "[[zones]]\nname = \"z\"\ncountry = \"fi\"\nregion = \"fi-hel\"\nkind = \"filesystem\"\npath = \"/z\"\n"
        let a = try GatewayConfig.parse("[server]\nstate_dir = \"/srv/h1\"\n" + zone, file: "t")
        let b = try GatewayConfig.parse("[server]\nstate_dir = \"/srv/h2\"\n" + zone, file: "t")
        XCTAssertNotEqual(a.hostIdentity, b.hostIdentity)
        XCTAssertEqual(a.hostIdentity, HostIdentity.derived(stateDir: "/srv/h1"))
        let named = try GatewayConfig.parse("[server]\nhost_id = \"gw-2.fi\"\n" + zone, file: "t")
        XCTAssertEqual(named.hostIdentity, "gw-2.fi")
        XCTAssertThrowsError(try GatewayConfig.parse("[server]\nhost_id = \"a:b\"\n" + zone, file: "t")) { error in
            XCTAssertTrue("\(error)".contains("host_id"), "\(error)")
        }
    }
}
