import Foundation
import GatewayCore

#if canImport(Glibc)
    import Glibc
#endif

/// Where plans live under the state directory (docs/DISCOVERY.md "Files"):
/// `plans/<tenant>/<id>.json`, written 0600 in directories of mode 0700 that belong to the state
/// directory's owner (`StateDirectory`); snapshots are `SnapshotFiles`'.
public enum MigrationFiles {
    /// Plan ids name files by the snapshots' rule (`SnapshotFiles.isValidID`): letters, digits,
    /// "-" and "_", nothing a path could carry.
    public static func isValidID(_ id: String) -> Bool { SnapshotFiles.isValidID(id) }

    public static func planPath(stateDir: String, tenant: String, id: String) -> String {
        "\(stateDir)/plans/\(tenant)/\(id).json"
    }

    /// Writes the plan beside the others of its tenant: a temporary file renamed into place, so
    /// a plan that exists is whole.
    public static func save(_ plan: MigrationPlanV1, stateDir: String) throws -> String {
        let path = planPath(stateDir: stateDir, tenant: plan.plan.tenant, id: plan.plan.id)
        try write(MigrationPlanFile.encode(plan), to: path, stateDir: stateDir)
        return path
    }

    /// Writes `data` at `path` (mode 0600, directories 0700 as needed) through a renamed
    /// temporary file. Under `stateDir` (when given), the directories and the file go to the
    /// state directory's owner; anywhere else (`-o FILE`) they stay the caller's.
    public static func write(_ data: Data, to path: String, stateDir: String? = nil) throws {
        let fm = FileManager.default
        let dir = (path as NSString).deletingLastPathComponent
        if let stateDir {
            try StateDirectory.makeDirectory(dir, in: stateDir)
        } else {
            try fm.createDirectory(
                atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let partial = path + ".partial"
        _ = try? fm.removeItem(atPath: partial)
        guard fm.createFile(atPath: partial, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw MigrationError(.invalidArgument, "cannot write \(partial)")
        }
        do {
            if let stateDir { try StateDirectory.giveToOwner(partial, in: stateDir) }
            try systemCall("rename \(partial)") { rename(partial, path) }
        } catch {
            unlink(partial)
            throw error
        }
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
                    SnapshotFiles(stateDir: $0).snapshot(tenant: tenant, id: reference).path
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
