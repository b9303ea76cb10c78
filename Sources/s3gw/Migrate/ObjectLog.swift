import Foundation
import Gateway
import Synchronization

/// One JSON line per object (`--report`), written as outcomes arrive from the copy threads.
final class ObjectLog: Sendable {
    private let handle: Mutex<FileHandle>

    init(path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
            let h = FileHandle(forWritingAtPath: path)
        else { throw MigrationCLI.fail("cannot write \(path)") }
        handle = Mutex(h)
    }

    func write(_ event: MigrationRunner.ObjectEvent) {
        guard var data = try? MigrationJSON.encoder().encode(event) else { return }
        data.append(0x0A)
        handle.withLock { $0.write(data) }
    }
}
