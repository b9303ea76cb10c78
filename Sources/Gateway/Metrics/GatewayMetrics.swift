import Foundation
import GatewayCore
import Logging
import Metrics

/// The gateway's metrics as one process has them: where every process's counter files are
/// (`<state_dir>/metrics/`), this process's own file (nil for a CLI command, which counts
/// nothing and creates nothing there), and who may scrape.
public final class GatewayMetrics: Sendable {
    public let settings: MetricsSettings
    public let directory: CounterDirectory
    public let recorder: MetricsRecorder?

    public init(settings: MetricsSettings, directory: CounterDirectory, recorder: MetricsRecorder?) {
        self.settings = settings
        self.directory = directory
        self.recorder = recorder
    }

    public static func directory(stateDir: String) -> CounterDirectory { CounterDirectory(path: stateDir + "/metrics") }

    /// The metrics of a process of `kind` (worker, agent, supervisor), with a counter file of its
    /// own (none for nil: a reader); nil when `[metrics] enabled = false`. A counter file that
    /// cannot be created (full disk, permissions) is logged and the process runs without one:
    /// it counts nothing, its scrapes still sum the other processes' files.
    public static func open(_ config: GatewayConfig, kind: String?, logger: Logger) -> GatewayMetrics? {
        guard config.metrics.enabled else { return nil }
        let directory = directory(stateDir: config.stateDir)
        var recorder: MetricsRecorder?
        if let kind {
            do {
                recorder = MetricsRecorder(file: try directory.create(kind: kind))
            } catch {
                logger.error("metrics: cannot create this \(kind)'s counter file, it counts nothing: \(error)")
            }
        }
        return GatewayMetrics(settings: config.metrics, directory: directory, recorder: recorder)
    }

    /// The whole gateway's series now: the counter files summed, and the gauges read from the
    /// metadata store. A store that does not answer leaves its gauges out (the counters are still
    /// worth a scrape); unreadable counter files leave the counters out.
    public func snapshot(_ ctx: GatewayContext, now: Double) -> MetricsSnapshot {
        var s: MetricsSnapshot
        do {
            s = MetricsSnapshot(counted: try directory.collect())
        } catch {
            ctx.logger.error("reading the counter files failed: \(error)")
            s = MetricsSnapshot()
        }
        StoreGauges.add(to: &s, ctx, now: now)
        return s
    }

    /// The Prometheus text of `snapshot`.
    public func exposition(_ ctx: GatewayContext, now: Double) -> String {
        Exposition.render(snapshot(ctx, now: now))
    }
}
