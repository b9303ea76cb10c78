import Foundation

/// Reads and writes plan files: snake_case keys, RFC 3339 dates, sorted keys.
public enum MigrationPlanFile {
    public enum Failure: Error, Equatable, CustomStringConvertible {
        case notAPlan
        case unsupportedVersion(Int)

        public var description: String {
            switch self {
            case .notAPlan: "not a migration plan (no plan_version)"
            case .unsupportedVersion(let v):
                "plan_version \(v) is newer than this gateway reads (\(MigrationPlanV1.version))"
            }
        }
    }

    public static func encode(_ plan: MigrationPlanV1) throws -> Data {
        var data = try SnapshotJSON.encoder().encode(plan)
        data.append(0x0A)
        return data
    }

    public static func decode(_ data: Data) throws -> MigrationPlanV1 {
        struct Probe: Decodable { var planVersion: Int? }
        let decoder = SnapshotJSON.decoder()
        guard let probe = try? decoder.decode(Probe.self, from: data), let version = probe.planVersion else {
            throw Failure.notAPlan
        }
        guard version == MigrationPlanV1.version else { throw Failure.unsupportedVersion(version) }
        return try decoder.decode(MigrationPlanV1.self, from: data)
    }
}
