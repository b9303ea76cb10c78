import Foundation
import GatewayCore

/// Why a plan or a run cannot be made, in words for the person who asked.
public struct MigrationError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case invalidArgument = "InvalidArgument"
        case notFound = "NotFound"
        case accessDenied = "AccessDenied"
        case conflict = "Conflict"
        case sourceFailed = "SourceFailed"
        /// This process carries as many runs as it may.
        case busy = "SlowDown"
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

extension GatewayContext {
    /// The plan `p` makes of `snapshot`: the planner over this gateway's catalog, the health
    /// checker's last view and the buckets `p`'s tenant already has. The one function the CLI
    /// and the API call.
    public func migrationPlan(
        for snapshot: SnapshotV1, options: MigrationPlanV1.Options, by p: Principal, id: String = RandomID.make(),
        now: Date = Date()
    ) throws -> MigrationPlanV1 {
        guard (1...16).contains(options.replicas) else {
            throw MigrationError(.invalidArgument, "replicas must be between 1 and 16")
        }
        guard options.bucketPrefix.utf8.count <= 60 else {
            throw MigrationError(.invalidArgument, "the bucket prefix is longer than a bucket name may be")
        }
        guard !options.constraint.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw MigrationError(.invalidArgument, "a constraint is needed (countries, regions or zones, like fi,de)")
        }
        var existing: [String: MigrationPlanner.ExistingBucket] = [:]
        for b in try metadata.listBuckets(tenant: p.tenant) {
            existing[b.displayName] = .init(ownedByPlanner: b.owner == p.user.id, constraint: b.locationConstraint)
        }
        let health = Dictionary(try metadata.zoneHealth().map { ($0.zone, $0.state) }) { a, _ in a }
        return MigrationPlanner.plan(
            snapshot, options: options,
            inputs: .init(
                catalog: catalog, health: health, prices: migration.prices,
                bandwidthMbps: migration.settings.bandwidthMbps, tenant: p.tenant, existing: existing),
            id: id, now: now)
    }
}

/// Where snapshots and plans live under the state directory (docs/DISCOVERY.md "Files"):
/// `snapshots/<tenant>/<id>.json`, `plans/<tenant>/<id>.json`, written 0600.
public enum MigrationFiles {
    /// Ids name files: letters, digits, ".", "_" and "-", not starting with ".".
    public static func isValidID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 128 && !id.hasPrefix(".")
            && id.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
    }

    public static func snapshotPath(stateDir: String, tenant: String, id: String) -> String {
        "\(stateDir)/snapshots/\(tenant)/\(id).json"
    }

    public static func planPath(stateDir: String, tenant: String, id: String) -> String {
        "\(stateDir)/plans/\(tenant)/\(id).json"
    }

    /// Writes the plan beside the others of its tenant: a temporary file renamed into place, so
    /// a plan that exists is whole.
    public static func save(_ plan: MigrationPlanV1, stateDir: String) throws -> String {
        let path = planPath(stateDir: stateDir, tenant: plan.plan.tenant, id: plan.plan.id)
        try write(MigrationPlanFile.encode(plan), to: path)
        return path
    }

    /// Writes `data` at `path` (mode 0600, directories 0700 as needed) through a renamed
    /// temporary file.
    public static func write(_ data: Data, to path: String) throws {
        let fm = FileManager.default
        let dir = (path as NSString).deletingLastPathComponent
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let partial = path + ".partial"
        guard fm.createFile(atPath: partial, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw MigrationError(.invalidArgument, "cannot write \(partial)")
        }
        _ = try? fm.removeItem(atPath: path)
        try fm.moveItem(atPath: partial, toPath: path)
    }

    /// A plan file: `reference` is a path, or a plan id of `tenant` under the state directory.
    public static func loadPlan(_ reference: String, stateDir: String?, tenant: String) throws -> MigrationPlanV1 {
        try MigrationPlanFile.decode(
            Data(
                contentsOf: URL(
                    fileURLWithPath: resolve(reference, stateDir: stateDir) {
                        planPath(stateDir: $0, tenant: tenant, id: reference)
                    })))
    }

    /// A snapshot file: a path, or a snapshot id of `tenant` under the state directory.
    public static func loadSnapshot(_ reference: String, stateDir: String?, tenant: String) throws -> SnapshotV1 {
        try SnapshotReader.read(
            contentsOf: URL(
                fileURLWithPath: resolve(reference, stateDir: stateDir) {
                    snapshotPath(stateDir: $0, tenant: tenant, id: reference)
                }))
    }

    private static func resolve(_ reference: String, stateDir: String?, byID: (String) -> String) throws -> String {
        if FileManager.default.fileExists(atPath: reference) { return reference }
        if let stateDir, isValidID(reference), FileManager.default.fileExists(atPath: byID(stateDir)) {
            return byID(stateDir)
        }
        throw MigrationError(.notFound, "\(reference): no such file, and no id of that name under the state directory")
    }
}
