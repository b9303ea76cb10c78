import Foundation
import GatewayCore
import Logging
import Synchronization

/// FOR TESTS ONLY: the wall clock moved forward by the number of seconds written in a file, so
/// an end-to-end test can let the agent see days pass (lifecycle rules, upload expiry) without
/// waiting. The file is read again whenever it changes (its mtime or size); a missing or
/// unreadable file, or anything but a finite number ≥ 0, means no offset. It moves the agent's
/// lifecycle and Object Lock decisions, so it takes two switches that production never has:
/// the environment variable `S3GW_TEST_CLOCK_OFFSET_FILE` and the config's
/// `[testing] clock_offset_file`, naming the same file. Only in the agent: workers check
/// request signatures against their clock, which an offset would make every client's look
/// skewed.
public final class OffsetClock: Clock {
    public static let environmentVariable = "S3GW_TEST_CLOCK_OFFSET_FILE"

    let base: any Clock
    let path: String
    let logger: Logger?
    private struct Seen {
        var stamp: [Int] = []
        var offset = 0.0
    }
    private let seen = Mutex(Seen())

    public init(base: any Clock, path: String, logger: Logger? = nil) {
        self.base = base
        self.path = path
        self.logger = logger
    }

    /// The clock the environment and the config ask for: `base` itself unless both name the
    /// same offset file, in which case it says so loudly in the log. One switch alone is
    /// refused (logged as an error): a stray environment variable never moves a production
    /// agent's time.
    public static func fromEnvironment(base: any Clock, configured: String?, logger: Logger) -> any Clock {
        let env = ProcessInfo.processInfo.environment[environmentVariable].flatMap { $0.isEmpty ? nil : $0 }
        switch (env, configured) {
        case (nil, nil):
            return base
        case (let path?, let configured?) where path == configured:
            logger.warning(
                "TEST CLOCK ACTIVE: the agent's time (lifecycle and Object Lock decisions) is moved forward by the seconds in \(path) (\(environmentVariable) and [testing] clock_offset_file); never set these outside tests"
            )
            return OffsetClock(base: base, path: path, logger: logger)
        default:
            logger.error(
                "test clock refused: \(environmentVariable) and [testing] clock_offset_file must both name the same file (environment: \(env ?? "unset"), config: \(configured ?? "unset")); the agent keeps the real time"
            )
            return base
        }
    }

    public func now() -> Double { base.now() + offset() }

    /// The seconds in the file, read again when it changed.
    public func offset() -> Double {
        var st = stat()
        guard stat(path, &st) == 0 else { return 0 }
        let stamp = [
            Int(st.st_mtim.tv_sec), Int(st.st_mtim.tv_nsec), Int(st.st_size), Int(st.st_ino),
        ]
        return seen.withLock { s in
            if s.stamp != stamp {
                let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
                let value = Double(text.trimmingCharacters(in: .whitespacesAndNewlines))
                // Only forward, and only by a real number of seconds.
                if let value, value.isFinite, value >= 0 {
                    s.offset = value
                    logger?.warning("TEST CLOCK: the agent's time is moved forward by \(value) s")
                } else {
                    s.offset = 0
                    if !text.isEmpty {
                        logger?.error("TEST CLOCK: \(path) holds no finite number of seconds ≥ 0; no offset")
                    }
                }
                s.stamp = stamp
            }
            return s.offset
        }
    }
}
