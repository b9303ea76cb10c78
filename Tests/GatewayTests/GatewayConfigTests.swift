import Gateway
import XCTest

final class GatewayConfigTests: XCTestCase {
    let good = """
        [server]
        socket = "/tmp/s.sock"   # trailing comment
        workers = 2
        socket_mode = "0666"

        [storage]
        default_zone = "z2"

        [[zones]]
        name = "z1"
        path = "/data/z1"

        [[zones]]
        name = "z2"
        country = "fi"
        path = "/data/z2"
        """

    func testParsesTablesArraysAndComments() throws {
        let c = try GatewayConfig.parse(good, file: "t.toml")
        XCTAssertEqual(c.socket, "/tmp/s.sock")
        XCTAssertEqual(c.workers, 2)
        XCTAssertEqual(c.socketMode, 0o666)
        XCTAssertEqual(c.zones.map(\.name), ["z1", "z2"])
        XCTAssertEqual(c.defaultZone, "z2")
    }

    func assertInvalid(_ text: String, line: Int, contains: String, file: StaticString = #filePath, l: UInt = #line) {
        do {
            _ = try GatewayConfig.parse(text, file: "t.toml")
            XCTFail("accepted", file: file, line: l)
        } catch {
            XCTAssertEqual(error.line, line, error.description, file: file, line: l)
            XCTAssert(error.description.contains(contains), error.description, file: file, line: l)
        }
    }

    func testMetadataIsSQLiteInTheStateDirectoryUnlessConfigured() throws {
        let plain = try GatewayConfig.parse(good, file: "t.toml")
        XCTAssertEqual(plain.metadata.kind, .sqlite)
        XCTAssertEqual(plain.metadataPath, plain.stateDir + "/metadata.sqlite")
        let moved = try GatewayConfig.parse(good + "\n[metadata]\npath = \"/srv/m.sqlite\"\n", file: "t.toml")
        XCTAssertEqual(moved.metadataPath, "/srv/m.sqlite")
        let url = "host=db1,db2 port=5432 dbname=s3gw target_session_attrs=read-write"
        let pg = try GatewayConfig.parse(good + "\n[metadata]\nkind = \"postgres\"\nurl = \"\(url)\"\n", file: "t.toml")
        XCTAssertEqual(pg.metadata.kind, .postgres)
        XCTAssertEqual(pg.metadata.url, url)
        let uri = "postgresql://s3gw@db1:5432,db2:5432/s3gw?target_session_attrs=read-write"
        XCTAssertEqual(
            try GatewayConfig.parse(good + "\n[metadata]\nkind = \"postgres\"\nurl = \"\(uri)\"\n", file: "t.toml")
                .metadata.url, uri)
        for bad in [
            "kind = \"postgres\"", "kind = \"mysql\"", "kind = \"postgres\"\nurl = \"host=db1 password=hunter2\"",
            "kind = \"postgres\"\nurl = \"postgresql://s3gw:hunter2@db1/s3gw\"",
        ] {
            XCTAssertThrowsError(try GatewayConfig.parse(good + "\n[metadata]\n\(bad)\n", file: "t.toml"), bad)
        }
    }

    func testNamesTheBadLine() {
        assertInvalid(
            good.replacingOccurrences(of: "workers = 2", with: "workers = \"two\""), line: 3, contains: "integer")
        assertInvalid(
            good.replacingOccurrences(of: "workers = 2", with: "wrokers = 2"), line: 3, contains: "unknown key")
        assertInvalid(
            good.replacingOccurrences(of: "default_zone = \"z2\"", with: "default_zone = \"z9\""), line: 7,
            contains: "z9")
        assertInvalid(good.replacingOccurrences(of: "[storage]", with: "[storage"), line: 6, contains: "unterminated")
        assertInvalid(
            good.replacingOccurrences(of: "socket_mode = \"0666\"", with: "socket_mode = \"999\""), line: 4,
            contains: "octal")
        assertInvalid(
            good.replacingOccurrences(of: "path = \"/data/z1\"", with: "path = \"relative\""), line: 9,
            contains: "absolute")
        assertInvalid("[server]\nworkers = 1\n", line: 0, contains: "no [[zones]]")
    }

    func testErrorsNeverEchoAValueThatMayBeASecret() {
        let text = good + "\n[credentials]\naccess_key = \"AKID\"\nsecret_key = sup3r-s3cret-unquoted\n"
        do {
            _ = try GatewayConfig.parse(text, file: "t.toml")
            XCTFail("accepted")
        } catch {
            XCTAssertFalse(error.description.contains("sup3r-s3cret"), error.description)
            XCTAssert(error.description.hasPrefix("t.toml:"), error.description)
        }
    }

    /// Provider timeouts: [storage] defaults, a zone's own values win, whatever the order of the
    /// tables; they belong to provider zones only.
    func testZoneTimeoutsHaveDefaultsAndPerZoneOverrides() throws {
        let zones = """
            [[zones]]
            name = "p1"
            kind = "s3"
            endpoint = "http://127.0.0.1:9000"
            access_key = "a"
            secret_key = "b"
            response_timeout = 7

            [[zones]]
            name = "p2"
            kind = "s3"
            endpoint = "http://127.0.0.1:9001"
            access_key = "a"
            secret_key = "b"
            """
        let plain = try GatewayConfig.parse(zones, file: "t.toml")
        XCTAssertEqual(
            plain.zones.map { [$0.connectTimeout, $0.responseTimeout, $0.stallTimeout] }, [[3, 7, 10], [3, 3, 10]])

        let storage =
            "[storage]\nzone_connect_timeout = 2\nzone_response_timeout = 4\nzone_stall_timeout = 20\nzone_complete_timeout = 600\n"
        for text in [storage + "\n" + zones, zones + "\n\n" + storage] {
            let c = try GatewayConfig.parse(text, file: "t.toml")
            XCTAssertEqual(
                c.zones.map { [$0.connectTimeout, $0.responseTimeout, $0.stallTimeout] }, [[2, 7, 20], [2, 4, 20]])
        }

        assertInvalid(
            zones.replacingOccurrences(of: "response_timeout = 7", with: "response_timeout = 0"), line: 7,
            contains: "response_timeout: must be between 1 and 3600")
        assertInvalid(
            "[storage]\nzone_stall_timeout = 99999\n" + zones, line: 2, contains: "zone_stall_timeout: must be between")
        assertInvalid(good + "\nstall_timeout = 5\n", line: 17, contains: "stall_timeout: unknown key")
    }

    /// A filesystem zone writes blobs of 1 MiB and more with direct I/O unless told otherwise;
    /// provider zones have no such keys.
    func testFilesystemZonesDirectWrites() throws {
        let zone = "[[zones]]\nname = \"z\"\npath = \"/data/z\"\n"
        XCTAssertEqual(try GatewayConfig.parse(zone, file: "t.toml").zones[0].directWriteMinSize, 1 << 20)
        XCTAssertEqual(
            try GatewayConfig.parse(zone + "direct_write_min_size = 8388608\n", file: "t.toml").zones[0]
                .directWriteMinSize, 8 << 20)
        XCTAssertNil(
            try GatewayConfig.parse(zone + "direct_writes = false\ndirect_write_min_size = 0\n", file: "t.toml").zones[
                0
            ]
            .directWriteMinSize)
        assertInvalid(
            zone + "direct_write_min_size = -1\n", line: 4, contains: "direct_write_min_size: must be between")
        assertInvalid(zone + "direct_writes = \"yes\"\n", line: 4, contains: "direct_writes")
        let provider = """
            [[zones]]
            name = "p"
            kind = "s3"
            endpoint = "http://127.0.0.1:9000"
            access_key = "a"
            secret_key = "b"
            direct_writes = false
            """
        assertInvalid(provider, line: 7, contains: "direct_writes: unknown key")
    }

    /// `[metadata] bucket_cache`: on unless turned off; only a boolean.
    func testBucketCacheIsOnUnlessTurnedOff() throws {
        XCTAssertTrue(try GatewayConfig.parse(good, file: "t.toml").metadata.bucketCache)
        XCTAssertFalse(
            try GatewayConfig.parse(good + "\n[metadata]\nbucket_cache = false\n", file: "t.toml").metadata.bucketCache)
        XCTAssertThrowsError(try GatewayConfig.parse(good + "\n[metadata]\nbucket_cache = \"no\"\n", file: "t.toml"))
    }

    /// `[server] md5_lanes`: on unless turned off; only a boolean.
    func testMD5LanesAreOnUnlessTurnedOff() throws {
        XCTAssertTrue(try GatewayConfig.parse(good, file: "t.toml").md5Lanes)
        let off = good.replacingOccurrences(of: "workers = 2", with: "workers = 2\nmd5_lanes = false")
        XCTAssertFalse(try GatewayConfig.parse(off, file: "t.toml").md5Lanes)
        let bad = good.replacingOccurrences(of: "workers = 2", with: "workers = 2\nmd5_lanes = 1")
        XCTAssertThrowsError(try GatewayConfig.parse(bad, file: "t.toml"))
    }

    /// `[oplog]`: on by default under the state directory, whatever the order of the tables;
    /// sizes and counts bounded, the path absolute.
    func testTheOperationsLogDefaultsToTheStateDirectoryAndChecksItsBounds() throws {
        let plain = try GatewayConfig.parse(
            good.replacingOccurrences(of: "workers = 2", with: "workers = 2\nstate_dir = \"/srv/gw/\""), file: "t.toml")
        XCTAssertEqual(
            plain.oplog, OplogSettings(enabled: true, path: "/srv/gw/oplog/oplog.jsonl", maxBytes: 64 << 20, files: 8))

        let oplog = "\n[oplog]\nenabled = false\npath = \"/var/log/s3gw/ops.jsonl\"\nmax_bytes = 4096\nfiles = 3\n"
        for text in [good + oplog, oplog + "\n" + good] {
            let c = try GatewayConfig.parse(text, file: "t.toml")
            XCTAssertEqual(
                c.oplog, OplogSettings(enabled: false, path: "/var/log/s3gw/ops.jsonl", maxBytes: 4096, files: 3))
            XCTAssertEqual(
                c.oplog.allPaths,
                [
                    "/var/log/s3gw/ops.jsonl.3", "/var/log/s3gw/ops.jsonl.2", "/var/log/s3gw/ops.jsonl.1",
                    "/var/log/s3gw/ops.jsonl",
                ])
        }
        // The state directory named after the [oplog] table still places the default path.
        let late = try GatewayConfig.parse(
            "[oplog]\nfiles = 2\n\n[server]\nstate_dir = \"/st\"\n\n[[zones]]\nname = \"z1\"\npath = \"/data/z1\"\n",
            file: "t.toml")
        XCTAssertEqual(late.oplog.path, "/st/oplog/oplog.jsonl")

        assertInvalid(good + "\n[oplog]\nmax_bytes = 10\n", line: 18, contains: "max_bytes: must be between")
        assertInvalid(good + "\n[oplog]\nfiles = 0\n", line: 18, contains: "files: must be between")
        assertInvalid(good + "\n[oplog]\npath = \"oplog.jsonl\"\n", line: 18, contains: "absolute")
        assertInvalid(good + "\n[oplog]\npath = \"/var/log/\"\n", line: 18, contains: "absolute")
        assertInvalid(good + "\n[oplog]\nenabled = \"yes\"\n", line: 18, contains: "enabled")
        assertInvalid(good + "\n[oplog]\nrotate = 1\n", line: 18, contains: "rotate: unknown key")
        // A query opens every file: their number is bounded.
        assertInvalid(good + "\n[oplog]\nfiles = 101\n", line: 18, contains: "files: must be between 1 and 100")
        // Never a state file (written into, or rotated away as `.1`).
        let state = good.replacingOccurrences(of: "workers = 2", with: "workers = 2\nstate_dir = \"/srv/gw\"")
        for path in [
            "/srv/gw/metadata.sqlite", "/srv/gw/metadata.sqlite-wal", "/srv/gw/master-key", "/srv/gw//./master-key",
            "/srv/gw/root-credentials", "/srv/gw/installation-secret", "/srv/gw/audit-ed25519.key",
            "/srv/gw/metrics/x.jsonl", "/srv/gw/oplog/../metadata.sqlite", "/srv/gw",
        ] {
            assertInvalid(state + "\n[oplog]\npath = \"\(path)\"\n", line: 0, contains: "[oplog] path")
        }
        for path in ["/srv/gw/oplog.jsonl", "/srv/gw/logs/ops.jsonl", "/srv/gw-other/metadata.sqlite"] {
            XCTAssertEqual(
                try GatewayConfig.parse(state + "\n[oplog]\npath = \"\(path)\"\n", file: "t.toml").oplog.path, path)
        }
    }
}
