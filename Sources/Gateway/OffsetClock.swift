import Foundation
import GatewayCore
import Logging
import Synchronization

/// FOR TESTS ONLY: the wall clock moved forward by the number of seconds written in a file, so
/// an end-to-end test can let the agent see days pass (lifecycle rules, upload expiry) without
/// waiting. The file is read again whenever it changes (its mtime or size); a missing or
/// unreadable file means no offset. Active only when the environment variable
/// `S3GW_TEST_CLOCK_OFFSET_FILE` names the file, and only in the agent: workers check request
/// signatures against their clock, which an offset would make every client's look skewed.
public final class OffsetClock: Clock {
    public static let environmentVariable = "S3GW_TEST_CLOCK_OFFSET_FILE"

    let base: any Clock
    let path: String
    private struct Seen {
        var stamp: [Int] = []
        var offset = 0.0
    }
    private let seen = Mutex(Seen())

    public init(base: any Clock, path: String) {
        self.base = base
        self.path = path
    }

    /// The clock the environment asks for: `base` itself unless the variable is set, in which
    /// case it says so loudly in the log.
    public static func fromEnvironment(base: any Clock, logger: Logger) -> any Clock {
        guard let path = ProcessInfo.processInfo.environment[environmentVariable], !path.isEmpty else { return base }
        logger.warning(
            "TEST CLOCK ACTIVE: the agent's time is moved forward by the seconds in \(path) (\(environmentVariable)); never set this outside tests"
        )
        return OffsetClock(base: base, path: path)
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
                s.offset = Double(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
                s.stamp = stamp
            }
            return s.offset
        }
    }
}
