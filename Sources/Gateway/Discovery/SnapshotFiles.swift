import Foundation
import GatewayCore

/// Where snapshots live: `<state_dir>/snapshots/<tenant>/<id>.json` (mode 0600) with its
/// `<id>.summary.json`, in directories only the gateway's user may enter (0700). A snapshot
/// exists when its `.json` does (the writer renames it into place last).
public struct SnapshotFiles: Sendable {
    public let root: URL

    public init(root: URL) { self.root = root }

    /// The snapshots of the state directory `stateDir`: its `snapshots/`.
    public init(stateDir: String) { self.init(root: URL(fileURLWithPath: stateDir + "/snapshots")) }

    /// Snapshot ids are job ids (32 hex digits); anything else a path could carry — "/", "..",
    /// a dot at all — never reaches the file system.
    public static func isValidID(_ id: String) -> Bool {
        (1...128).contains(id.utf8.count)
            && id.utf8.allSatisfy { $0.isASCIIAlphanumeric || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }
    }

    public func directory(tenant: String) -> URL { root.appendingPathComponent(tenant, isDirectory: true) }
    public func snapshot(tenant: String, id: String) -> URL {
        directory(tenant: tenant).appendingPathComponent(id + ".json")
    }
    public func summary(tenant: String, id: String) -> URL {
        directory(tenant: tenant).appendingPathComponent(id + ".summary.json")
    }

    /// Creates the tenant's directory (and the root) with mode 0700, tightening existing ones.
    public func prepare(tenant: String) throws {
        for dir in [root, directory(tenant: tenant)] {
            try FileManager.default.createDirectory(
                at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: dir.path)
        }
    }

    /// One snapshot as `GET /api/discovery/snapshots` lists it.
    public struct Listing: Codable, Sendable, Equatable {
        public var id: String
        public var createdAt: String
        public var endpointHost: String
        public var region: String
        public var sanitization: String
        public var buckets: Int
        public var objects: Int64
        public var bytes: Int64
        public var fileBytes: Int64
    }

    /// The tenant's snapshots, newest first. What each holds comes from its job's row (`job`),
    /// never from parsing its files, so a list costs one directory read and a row per snapshot;
    /// a snapshot without a row is listed from what its file name and size say.
    public func list(tenant: String, job: (String) -> DiscoveryJob?) -> [Listing] {
        let dir = directory(tenant: tenant)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else { return [] }
        var out: [Listing] = []
        for name in names where name.hasSuffix(".json") && !name.hasSuffix(".summary.json") {
            let id = String(name.dropLast(".json".count))
            guard Self.isValidID(id), let l = listing(tenant: tenant, id: id, job: job(id)) else { continue }
            out.append(l)
        }
        return out.sorted { $0.createdAt != $1.createdAt ? $0.createdAt > $1.createdAt : $0.id < $1.id }
    }

    /// Nil when there is no such snapshot.
    public func listing(tenant: String, id: String, job: DiscoveryJob?) -> Listing? {
        let file = snapshot(tenant: tenant, id: id)
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: file.path) else { return nil }
        let size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
        guard let j = job, j.tenant == tenant else {
            let modified = (attributes[.modificationDate] as? Date) ?? Date(timeIntervalSince1970: 0)
            return Listing(
                id: id, createdAt: HTTPDate.iso8601(modified.timeIntervalSince1970), endpointHost: "", region: "",
                sanitization: "", buckets: 0, objects: 0, bytes: 0, fileBytes: size)
        }
        // A job that ended wrote every bucket it learnt of, listed or not: its total.
        return Listing(
            id: id, createdAt: HTTPDate.iso8601(j.createdAt), endpointHost: j.endpointHost, region: j.region,
            sanitization: j.sanitization, buckets: j.bucketsTotal, objects: j.objects, bytes: j.bytes,
            fileBytes: size)
    }

    /// Removes the snapshot and its summary; false when there was none.
    public func delete(tenant: String, id: String) -> Bool {
        let existed = FileManager.default.fileExists(atPath: snapshot(tenant: tenant, id: id).path)
        try? FileManager.default.removeItem(at: snapshot(tenant: tenant, id: id))
        try? FileManager.default.removeItem(at: summary(tenant: tenant, id: id))
        return existed
    }

    /// Removes `.partial` files left by jobs that no longer run (their process died): `isRunning`
    /// says which ids still do (or may), and a file written to within `untouchedFor` seconds
    /// stays whatever it says.
    public func sweepPartials(tenant: String, untouchedFor: Double, isRunning: (String) -> Bool) {
        let dir = directory(tenant: tenant)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else { return }
        let cutoff = Date().addingTimeInterval(-untouchedFor)
        for name in names where name.hasSuffix(".partial") {
            let url = dir.appendingPathComponent(name)
            let modified = (try? FileManager.default.attributesOfItem(atPath: url.path))?[.modificationDate] as? Date
            guard let modified, modified < cutoff else { continue }
            let id = String(name.prefix { $0 != "." })
            if !isRunning(id) { try? FileManager.default.removeItem(at: url) }
        }
    }
}

extension UInt8 {
    fileprivate var isASCIIAlphanumeric: Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(self) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(self)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self)
    }
}
