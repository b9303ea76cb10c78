import Foundation
import Gateway
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The run's progress on stderr: one line rewritten in place on a terminal, a plain line every
/// `plainInterval` seconds otherwise (a log file or a pipe).
final class ProgressLine: Sendable {
    private let runner: MigrationRunner
    private let tty = isatty(STDERR_FILENO) == 1
    private let stopped = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)
    let plainInterval: Double

    init(_ runner: MigrationRunner, plainInterval: Double = 10) {
        self.runner = runner
        self.plainInterval = plainInterval
    }

    func start() {
        let t = Thread { [self] in
            var last = Date.distantPast
            while !stopped.load(ordering: .relaxed) {
                if tty || Date().timeIntervalSince(last) >= plainInterval {
                    emit(runner.progress)
                    last = Date()
                }
                usleep(tty ? 250_000 : 200_000)
            }
            done.signal()
        }
        t.name = "progress"
        t.start()
    }

    func stop() {
        stopped.store(true, ordering: .relaxed)
        done.wait()
        emit(runner.progress)
        if tty { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    private func emit(_ s: MigrationRunStatus) {
        let line = Self.text(s)
        FileHandle.standardError.write(Data((tty ? "\r\u{1B}[K" + line : line + "\n").utf8))
    }

    static func text(_ s: MigrationRunStatus) -> String {
        let b = MigrationPlanSummary.bytes
        var line =
            "\(s.objectsDone + s.objectsSkipped)/\(s.objectsTotal) objects, "
            + "\(b(s.bytesDone + s.bytesSkipped))/\(b(s.bytesTotal)), \(b(Int64(s.rateBytesPerSecond)))/s"
        if let eta = s.etaSeconds, s.state == .running { line += ", ETA \(MigrationPlanSummary.duration(eta))" }
        if s.objectsSkipped > 0 { line += ", \(s.objectsSkipped) skipped" }
        if let bucket = s.currentBucket { line = "\(bucket): " + line }
        return TerminalText.safe(line)
    }
}
