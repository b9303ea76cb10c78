import Foundation
import Gateway
import GatewayCore
import SigV4

#if canImport(Glibc)
    import Glibc
#endif

/// The master keys that seal stored secret keys: `S3GW_MASTER_KEY` (64 hex digits, or several
/// comma-separated, the last one current) or `<state_dir>/master-key` (0600, one key per line,
/// the last one current), generated at first start. Never inside the metadata store.
enum MasterKeys {
    static let environment = "S3GW_MASTER_KEY"

    static func path(_ stateDir: String) -> String { stateDir + "/master-key" }

    static var fromEnvironment: Bool { ProcessInfo.processInfo.environment[environment].map { !$0.isEmpty } ?? false }

    static func load(stateDir: String, createIfMissing: Bool) throws -> SecretBox {
        if let env = ProcessInfo.processInfo.environment[environment], !env.isEmpty {
            return try box(env.split(separator: ",").map(String.init), source: environment)
        }
        let file = path(stateDir)
        // Only a missing file may be created; one we cannot read (another owner, a damaged
        // disk) is reported as it is, never replaced by a new key that opens nothing.
        if access(file, F_OK) == 0 || errno != ENOENT {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw SystemCallError(call: "read \(file)", errno: access(file, R_OK) == 0 ? EIO : errno)
            }
            return try box(text.split(whereSeparator: \.isNewline).map(String.init), source: file)
        }
        guard createIfMissing else {
            throw SystemCallError(
                call: "read \(file) (start the gateway once with `s3gw serve` to create it)", errno: ENOENT)
        }
        let key = MasterKey.generate()
        try writePrivate(path: file, key.hex + "\n")
        return SecretBox(keys: [key])
    }

    private static func box(_ lines: [String], source: String) throws -> SecretBox {
        let keys = lines.filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.map(MasterKey.init(hex:))
        guard !keys.isEmpty, keys.allSatisfy({ $0 != nil }) else {
            throw SystemCallError(call: "parse \(source) (each key is 64 hex digits)", errno: EINVAL)
        }
        return SecretBox(keys: keys.compactMap { $0 })
    }

    /// Replaces the key file atomically (temp file, fsync, rename), keeping it 0600 and its
    /// owner: `s3gw keys rotate` run as root must leave a file the gateway's user still reads.
    static func write(_ keys: [MasterKey], stateDir: String) throws {
        let file = path(stateDir)
        let temp = file + ".new"
        unlink(temp)
        try writePrivate(path: temp, keys.map(\.hex).joined(separator: "\n") + "\n")
        do {
            var st = stat()
            if stat(file, &st) == 0 {
                try systemCall("chown \(temp)") { chown(temp, st.st_uid, st.st_gid) }
            }
            try systemCall("rename \(temp)") { rename(temp, file) }
        } catch {
            unlink(temp)
            throw error
        }
    }
}
