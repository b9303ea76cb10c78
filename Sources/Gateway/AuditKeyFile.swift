import Foundation
import GatewayCore
import SigV4

#if canImport(Glibc)
    import Glibc
#endif

/// The installation's digest signing key: `<state_dir>/audit-ed25519.key`, the 32-byte seed as
/// 64 hex digits, 0600, never in the metadata store (whoever can rewrite the database must not
/// be able to re-sign it). Created at first start; its public key goes to `audit_keys`.
public enum AuditKeyFile {
    public static func path(_ stateDir: String) -> String { stateDir + "/audit-ed25519.key" }

    /// Loads the key, creating it when missing and `createIfMissing` (temp file, fsync, then
    /// link(2), which never replaces a key another process created meanwhile).
    public static func load(stateDir: String, createIfMissing: Bool) throws -> Ed25519Key {
        let file = path(stateDir)
        if let key = try read(file) { return key }
        guard createIfMissing else {
            throw SystemCallError(call: "read \(file) (start the gateway once with `s3gw serve`)", errno: ENOENT)
        }
        let temp = file + ".new-\(getpid())"
        unlink(temp)
        try writePrivate(path: temp, hexEncode(Ed25519Key.generate().seed) + "\n")
        defer { unlink(temp) }
        if link(temp, file) != 0 && errno != EEXIST {
            throw SystemCallError(call: "link \(file)", errno: errno)
        }
        guard let key = try read(file) else { throw SystemCallError(call: "read \(file)", errno: EIO) }
        return key
    }

    private static func read(_ file: String) throws -> Ed25519Key? {
        guard access(file, F_OK) == 0 else {
            if errno == ENOENT { return nil }
            throw SystemCallError(call: "access \(file)", errno: errno)
        }
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw SystemCallError(call: "read \(file)", errno: EACCES)
        }
        guard let seed = hexDecode(text.trimmingCharacters(in: .whitespacesAndNewlines)),
            let key = Ed25519Key(seed: seed)
        else { throw SystemCallError(call: "parse \(file) (64 hex digits)", errno: EINVAL) }
        return key
    }

    /// Loads (or creates) the key and records its public half in the store.
    @discardableResult
    public static func register(stateDir: String, createIfMissing: Bool, store: any AuditStore, now: Double) throws
        -> Ed25519Key
    {
        let key = try load(stateDir: stateDir, createIfMissing: createIfMissing)
        try store.addAuditKey(key.auditKey(created: now))
        return key
    }
}
