import Foundation
import GatewayCore
import MetadataPostgres
import MetadataSQL
import Synchronization

/// The PostgreSQL server tests use: the one named by S3GW_TEST_POSTGRES (`make test` starts a
/// throw-away cluster and sets it), or else one started for this test process through
/// scripts/pg-cluster.sh and stopped when the process exits. Only a machine without PostgreSQL's
/// binaries has none (`server` says so and tests skip); any other failure to start is fatal.
public enum TestPostgres {
    public enum Server: Sendable {
        case running(conninfo: String)
        case absent(reason: String)
    }

    public static let server: Server = {
        if let given = ProcessInfo.processInfo.environment["S3GW_TEST_POSTGRES"], !given.isEmpty {
            return .running(conninfo: given)
        }
        guard (try? cluster(["bindir"])) != nil else {
            return .absent(
                reason: "PostgreSQL is not installed (no initdb/pg_ctl; scripts/install-test-deps.sh installs it)")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("s3gw-pgtest-\(UUID().uuidString)")
        do {
            let conninfo = try cluster(["start", dir.path]).trimmingCharacters(in: .whitespacesAndNewlines)
            startedCluster = dir.path
            atexit {
                guard let dir = startedCluster else { return }
                _ = try? TestPostgres.cluster(["stop", dir])
                try? FileManager.default.removeItem(atPath: dir)
            }
            return .running(conninfo: conninfo)
        } catch {
            fatalError("could not start a PostgreSQL cluster for the tests: \(error)")
        }
    }()

    /// The connection string of a new, empty database on `server` (nil without a server): each
    /// test gets its own, so tests never see each other's rows.
    public static func freshDatabase() throws(StoreError) -> String? {
        guard case .running(let conninfo) = server else { return nil }
        let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let admin = try PostgresConnection(conninfo: conninfo)
        try admin.exec("CREATE DATABASE \(name)")
        return naming(conninfo, database: name)
    }

    /// Drops the database `conninfo` names (a `freshDatabase` a test is done with), ending any
    /// session still on it, so a long run does not pile up databases and connections.
    public static func drop(_ conninfo: String) throws(StoreError) {
        guard case .running(let server) = server else { return }
        var name = ""
        try PostgresConnection(conninfo: conninfo).query("SELECT current_database()", []) {
            (r: any SQLRow) throws(StoreError) in name = r.text(0)
        }
        guard name.hasPrefix("t_") || name.hasPrefix("k_") else { return }
        try PostgresConnection(conninfo: server).exec("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    /// `conninfo` (libpq's key=value form or a postgres:// URI) naming database `name` instead.
    public static func naming(_ conninfo: String, database name: String) -> String {
        guard let scheme = conninfo.range(of: "://"), conninfo.hasPrefix("postgres") else {
            // A later keyword overrides an earlier one in libpq's key=value form.
            return conninfo + " dbname=\(name)"
        }
        let rest = conninfo[scheme.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let query = rest[authorityEnd...].firstIndex(of: "?").map { String(rest[$0...]) } ?? ""
        return String(conninfo[..<authorityEnd]) + "/\(name)" + query
    }

    /// The connection string of the database named after `key`, created on first use: the same
    /// key opens the same database again (a second store standing for another process).
    public static func database(for key: String) throws(StoreError) -> String? {
        guard case .running(let conninfo) = server else { return nil }
        // FNV-1a: a stable, identifier-safe name for any key.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let name = "k_" + String(hash, radix: 16)
        try created.withLock { (known: inout Set<String>) throws(StoreError) in
            guard !known.contains(name) else { return }
            let admin = try PostgresConnection(conninfo: conninfo)
            if !(try admin.exists("SELECT 1 FROM pg_database WHERE datname = ?", [.text(name)])) {
                try admin.exec("CREATE DATABASE \(name)")
            }
            known.insert(name)
        }
        return naming(conninfo, database: name)
    }

    private static let created = Mutex<Set<String>>([])
    nonisolated(unsafe) private static var startedCluster: String?

    /// Runs scripts/pg-cluster.sh with `args` (paths without quotes or spaces) and returns its
    /// output. popen rather than Foundation's Process, whose wait can miss the child's exit.
    private static func cluster(_ args: [String]) throws -> String {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../scripts/pg-cluster.sh").standardizedFileURL.path
        guard let pipe = popen(([script] + args).joined(separator: " "), "r") else {
            throw StoreError.internalFailure("pg-cluster.sh: popen failed")
        }
        var output = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&buffer, 1, buffer.count, pipe)
            if n <= 0 { break }
            output += buffer[0..<n]
        }
        let status = pclose(pipe)
        guard status == 0 else {
            throw StoreError.internalFailure("pg-cluster.sh \(args.first ?? ""): exit status \(status)")
        }
        return String(decoding: output, as: UTF8.self)
    }
}
