import Foundation

extension ProviderImport {
    /// What an import would do to a configuration file: the `[[zones]]` tables it appends and
    /// the zones they add, checked against the file as it is now. Nothing is written yet.
    public struct Plan: Sendable {
        public let configPath: String
        /// The TOML appended (holds the providers' secrets).
        public let toml: String
        /// The zones added, as the configuration will read them (with their secrets: never
        /// show those).
        public let zones: [GatewayConfig.Zone]
        /// The whole new configuration text.
        let combined: String
    }

    /// The imported zones turn the configuration invalid (e.g. a name it already has).
    public struct NotFitting: Error, CustomStringConvertible {
        public let reason: GatewayConfig.Invalid
        public var description: String { "the imported zones do not fit the configuration: \(reason)" }
    }

    /// Validates provider rows (read from a file by `rows(from:file:)`, named `file` in errors)
    /// against the configuration file at `configPath`. Throws `Invalid` for the providers,
    /// `NotFitting` when the result would not be a valid configuration, or the read failure: an
    /// unreadable file is never rewritten as the imported zones only.
    public static func plan(rows: [[String: String]], file: String, configPath: String) throws -> Plan {
        let current = try String(contentsOfFile: configPath, encoding: .utf8)
        let existing: GatewayConfig
        do {
            existing = try GatewayConfig.parse(current, file: configPath)
        } catch {
            throw NotFitting(reason: error)
        }
        let toml = try toml(rows: rows, file: file, existing: Set(existing.zones.map(\.name)))
        let combined = current + (current.hasSuffix("\n") ? "" : "\n") + toml
        // The result must still be a valid configuration before anything is written.
        let after: GatewayConfig
        do {
            after = try GatewayConfig.parse(combined, file: configPath)
        } catch {
            throw NotFitting(reason: error)
        }
        let before = Set(existing.zones.map(\.name))
        return Plan(
            configPath: configPath, toml: toml, zones: after.zones.filter { !before.contains($0.name) },
            combined: combined)
    }

    /// Writes the plan: atomically, keeping the file's permission bits (it holds secrets). The
    /// running gateway takes the zones up on its next reload (SIGHUP).
    public static func apply(_ plan: Plan) throws {
        try replacePreservingMode(plan.configPath, with: plan.combined)
    }
}
