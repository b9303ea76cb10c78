import Foundation
import GatewayCore

/// `POST /admin/providers/import`: what `s3gw providers import` does, on the configuration file
/// the gateway was started with. A dry run unless `"apply": true`; either way the answer lists
/// the zones without their credentials.
extension AdminAPI {
    public struct ImportProviders: Decodable, Sendable {
        /// Provider objects with the fields of docs/PROVIDERS.md (strings, or booleans for
        /// path_style, verify_tls and payload_signing)…
        public var providers: [[String: Field]]?
        /// …or the same as CSV text with a header row.
        public var csv: String?
        public var apply: Bool?

        public struct Field: Decodable, Sendable {
            public var text: String
            public init(from decoder: any Decoder) throws {
                let c = try decoder.singleValueContainer()
                if let b = try? c.decode(Bool.self) {
                    text = b ? "true" : "false"
                } else if let n = try? c.decode(Int.self) {
                    text = String(n)
                } else {
                    text = try c.decode(String.self)
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
            let body = try r.decode(ImportProviders.self)
            let text: String
            switch (body.providers, body.csv) {
            case (let providers?, nil):
                let rows = providers.map { $0.mapValues(\.text) }
                // Encoding strings cannot fail.
                text = String(decoding: (try? JSONEncoder().encode(rows)) ?? Data("[]".utf8), as: UTF8.self)
            case (nil, let csv?):
                text = csv
            default:
                throw .invalid("send either providers (a list of objects) or csv (text with a header row)")
            }
            guard let configPath = ctx.admin.configPath else {
                throw .conflict("this gateway was not started from a configuration file it can import into")
            }
            let plan: ProviderImport.Plan
            do {
                plan = try ProviderImport.plan(text, file: "providers", configPath: configPath)
            } catch let e as ProviderImport.Invalid {
                throw .invalid(e.description)
            } catch let e as ProviderImport.NotFitting {
                throw .invalid(e.description)
            } catch {
                ctx.logger.error("providers import: reading \(configPath) failed: \(error)")
                throw AdminError(
                    status: 500, code: "InternalError", message: "the configuration file could not be read")
            }
            let apply = body.apply ?? false
            if apply {
                do {
                    try ProviderImport.apply(plan)
                } catch {
                    ctx.logger.error("providers import: writing \(configPath) failed: \(error)")
                    throw AdminError(
                        status: 500, code: "InternalError", message: "the configuration file could not be written")
                }
                ctx.logger.notice(
                    "providers import: added zone(s) \(plan.zones.map(\.name).joined(separator: ", ")) to \(configPath)"
                )
            }
            return .json(
                ImportResultView(applied: apply, zones: plan.zones.map(ImportedZoneView.init), reloadRequired: apply))
        }
    ]
}
