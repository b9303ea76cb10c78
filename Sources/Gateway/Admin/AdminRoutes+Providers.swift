import Foundation
import GatewayCore
import Logging

/// `POST /admin/providers/import`: what `s3gw providers import` does, on the configuration file
/// the gateway was started with. A dry run unless `"apply": true`; either way the answer lists
/// the zones without their credentials.
extension AdminAPI {
    public struct ImportProviders: Decodable, Sendable {
        /// The providers, with the fields of docs/PROVIDERS.md (a CSV file is read into these by
        /// `ProviderImport.rows` on the client's side).
        public var providers: [Provider]
        public var apply: Bool?
    }

    /// One provider: strings, and booleans (or "true"/"false") for the switches. Unknown fields
    /// are refused, as in a file.
    public struct Provider: Decodable, Sendable {
        var fields: [String: String] = [:]

        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        static let switches: Set<String> = ["path_style", "verify_tls", "payload_signing"]

        static func snakeCase(_ camel: String) -> String {
            var out = ""
            for c in camel {
                if c.isUppercase {
                    out += "_" + c.lowercased()
                } else {
                    out.append(c)
                }
            }
            return out
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: Key.self)
            for key in c.allKeys {
                // The admin decoder converts snake_case keys; the fields are named as in a file.
                let name = Self.snakeCase(key.stringValue)
                if !ProviderImport.required.contains(name) && !ProviderImport.optional.contains(name) {
                    fields[name] = ""  // refused by name where rows are checked
                } else if try c.decodeNil(forKey: key) {
                    continue
                } else if Self.switches.contains(name), let b = try? c.decode(Bool.self, forKey: key) {
                    fields[name] = b ? "true" : "false"
                } else {
                    fields[name] = try c.decode(String.self, forKey: key)
                }
            }
        }
    }

    public struct ImportedZoneView: Codable, Sendable {
        public var name: String
        public var country: String
        public var region: String
        public var kind: String
        /// Without credentials; the access and secret keys are never shown.
        public var endpoint: String
        public var signingRegion: String
        public var pathStyle: Bool
        public var verifyTLS: Bool
        public var storageClass: String?

        init(_ z: GatewayConfig.Zone) {
            name = z.name
            country = z.country
            region = z.region
            kind = z.kind
            endpoint = ZoneCatalog.withoutUserInfo(z.endpoint)
            signingRegion = z.signingRegion
            pathStyle = z.pathStyle
            verifyTLS = z.verifyTLS
            storageClass = z.storageClass
        }

        enum CodingKeys: String, CodingKey {
            case name, country, region, kind, endpoint, signingRegion, pathStyle, storageClass
            // convertToSnakeCase would make "verify_tls" "verify_t_l_s".
            case verifyTLS = "verifyTls"
        }
    }

    public struct ImportResultView: Codable, Sendable {
        /// False for a dry run: nothing was written.
        public var applied: Bool
        public var zones: [ImportedZoneView]
        /// The running gateway serves the new zones after its next reload (SIGHUP).
        public var reloadRequired: Bool
    }

    static let providerRoutes: [Route] = [
        Route("POST", "providers/import", "admin:ImportProviders", .gateway) { r, _, ctx throws(AdminError) in
            try importProviders(r, configPath: ctx.admin.configPath, logger: ctx.logger) { zones in
                AuditAfter.append(.zonesImported(zones), ctx)
            }
        }
    ]

    /// The import itself, which needs the configuration file only: the CLI on the gateway host
    /// calls it directly before the gateway first ran (no state to open a context on yet).
    /// `applied` gets the zones written to the configuration (the route records them).
    public static func importProviders(
        _ r: AdminRequest, configPath: String?, logger: Logger, applied: ([String]) -> Void = { _ in }
    ) throws(AdminError) -> AdminResponse {
        let body = try r.decode(ImportProviders.self)
        guard let configPath else {
            throw .conflict("this gateway was not started from a configuration file it can import into")
        }
        let plan: ProviderImport.Plan
        do {
            plan = try ProviderImport.plan(
                rows: body.providers.map(\.fields), file: "providers", configPath: configPath)
        } catch let e as ProviderImport.Invalid {
            // A zone that exists (or comes twice) conflicts with the configuration.
            throw e.isConflict ? .conflict(e.description) : .invalid(e.description)
        } catch let e as ProviderImport.NotFitting {
            throw .conflict(e.description)
        } catch {
            logger.error("providers import: reading \(configPath) failed: \(error)")
            throw AdminError(
                status: 500, code: "InternalError", message: "the configuration file could not be read")
        }
        let apply = body.apply ?? false
        if apply {
            do {
                try ProviderImport.apply(plan)
            } catch {
                logger.error("providers import: writing \(configPath) failed: \(error)")
                throw AdminError(
                    status: 500, code: "InternalError", message: "the configuration file could not be written")
            }
            logger.notice(
                "providers import: added zone(s) \(plan.zones.map(\.name).joined(separator: ", ")) to \(configPath)"
            )
            applied(plan.zones.map(\.name))
        }
        return .json(
            ImportResultView(applied: apply, zones: plan.zones.map(ImportedZoneView.init), reloadRequired: apply))
    }
}
