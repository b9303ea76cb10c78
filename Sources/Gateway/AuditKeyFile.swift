import Foundation
import GatewayCore
import SigV4

#if canImport(Glibc)
    import Glibc
#endif

/// The installation's digest signing key: `<state_dir>/audit-ed25519.key`, the 32-byte seed as
/// 64 hex digits, 0600, never in the metadata store (whoever can rewrite the database must not
/// be able to re-sign it). Created once, at the first start (while `audit_keys` is empty); its
/// public key goes to `audit_keys`. A key file gone later is never silently replaced: a new key
/// would leave every older digest signed by a key nobody can show is the installation's.
public enum AuditKeyFile {
    public static func path(_ stateDir: String) -> String { stateDir + "/audit-ed25519.key" }

    /// Why the key cannot be used; the message says what to do.
    public struct Refusal: Error, CustomStringConvertible {
        public var description: String
    }

    /// The key in the file; nil only when there is no file. A file that exists but cannot be
    /// read, is not 64 hex digits, is readable by others than its owner or belongs to another
    /// user (who could have replaced it) is an error, never a reason to fall back to anything.
    public static func load(stateDir: String) throws -> Ed25519Key? {
        let file = path(stateDir)
        var st = stat()
        guard stat(file, &st) == 0 else {
            if errno == ENOENT { return nil }
            throw SystemCallError(call: "stat \(file)", errno: errno)
        }
        guard st.st_mode & 0o077 == 0 else {
            throw Refusal(
                description: "\(file) has mode \(String(st.st_mode & 0o777, radix: 8)): the signing key must be 0600")
        }
        guard st.st_uid == geteuid() || geteuid() == 0 else {
            throw Refusal(description: "\(file) belongs to uid \(st.st_uid), not to this user (\(geteuid()))")
        }
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw SystemCallError(call: "read \(file)", errno: EACCES)
        }
        guard let seed = hexDecode(text.trimmingCharacters(in: .whitespacesAndNewlines)),
            let key = Ed25519Key(seed: seed)
        else { throw Refusal(description: "\(file) is not an Ed25519 seed (64 hex digits)") }
        return key
    }

    /// The key, created when there is none and `store` knows no signing key yet (the first
    /// start: temp file, fsync, link(2), which never replaces a key another process created
    /// meanwhile, then fsync of the directory so the link survives a crash).
    public static func loadOrCreate(stateDir: String, store: any AuditStore) throws -> Ed25519Key {
        if let key = try load(stateDir: stateDir) { return key }
        let known = try store.auditKeys()
        guard known.isEmpty else {
            throw Refusal(
                description: "the audit signing key \(path(stateDir)) is missing, but digests were signed with "
                    + "\(known.map { String($0.fingerprint.prefix(16)) }.joined(separator: ", ")): restore the file "
                    + "from a backup; no digest is signed until then (a new key would leave the older digests "
                    + "unverifiable)")
        }
        let file = path(stateDir)
        let temp = file + ".new-\(getpid())"
        unlink(temp)
        try writePrivate(path: temp, hexEncode(Ed25519Key.generate().seed) + "\n")
        defer { unlink(temp) }
        if link(temp, file) != 0 && errno != EEXIST {
            throw SystemCallError(call: "link \(file)", errno: errno)
        }
        let dir = open(stateDir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dir >= 0 {
            fsync(dir)
            close(dir)
        }
        guard let key = try load(stateDir: stateDir) else { throw SystemCallError(call: "read \(file)", errno: EIO) }
        return key
    }

    /// Loads (or, at the first start, creates) the key and records its public half in the store.
    @discardableResult
    public static func register(stateDir: String, store: any AuditStore, now: Double) throws -> Ed25519Key {
        let key = try loadOrCreate(stateDir: stateDir, store: store)
        try store.addAuditKey(key.auditKey(created: now))
        return key
    }
}
