import ArgumentParser
import Foundation
import Gateway
import GatewayCore
import S3Backend

extension ZonesCommand {
    /// `s3gw zones sweep-uploads`: what the agent does after each multipart expiry, now, with
    /// a cutoff of the operator's choosing (after an outage, without waiting for the expiry).
    struct SweepUploads: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sweep-uploads",
            abstract: "Abort zone-side multipart uploads no open gateway upload owns.",
            discussion: """
                A provider may carry out a CreateMultipartUpload after the gateway gave up on it \
                (a hung provider), and a replication or unknown-length write cut off leaves its \
                provider upload behind: nothing in metadata names those. This aborts every such \
                upload started more than --older-than seconds ago (default: [storage] \
                multipart_expiry) and prints how many went. Zones that cannot be listed are skipped \
                with a warning. A cutoff shorter than the longest write under way may abort it.
                """)
        @OptionGroup var options: ConfigOption
        @Option(help: "Only uploads started at least this many seconds ago.") var olderThan: Int?

        func run() throws {
            let config = try loadOrExit(options.config)
            CurlGlobal.initialize()
            let ctx = try Worker.makeContext(
                config: config, logger: makeLogger("s3gw.cli", level: "warning"), serving: false)
            let age = Double(olderThan ?? config.multipartExpiry)
            let n = try Maintenance.abortStrayZoneUploads(olderThan: Date().timeIntervalSince1970 - age, ctx)
            print("aborted \(n) stray zone upload(s)")
        }
    }
}
