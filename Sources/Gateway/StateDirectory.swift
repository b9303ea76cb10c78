import Foundation
import GatewayCore

#if canImport(Glibc)
    import Glibc
#endif

/// What a command writes under the state directory belongs to the directory's owner — the user
/// the workers run as — even when the command runs as root (`s3gw migrate plan|run`, as the
/// install scripts document): a plan directory or a read-through socket root kept for itself
/// would lock the workers out (their API plans fail, their reads through a run find nothing).
/// Run as any other user, files are that user's, as the system makes them.
public enum StateDirectory {
    /// Who files under `stateDir` go to: nil unless this process is root (and the directory is there).
    static func owner(of stateDir: String) -> (uid: uid_t, gid: gid_t)? {
        var st = stat()
        guard geteuid() == 0, stat(stateDir, &st) == 0 else { return nil }
        return (st.st_uid, st.st_gid)
    }

    /// Creates `dir` and what is missing of its parents, mode 0700. The components below
    /// `stateDir` (when `dir` is under it) go to the state directory's owner, including ones an
    /// earlier command run as root left as root's; one that is not a directory (a symbolic link
    /// someone put there) is refused rather than followed.
    public static func makeDirectory(_ dir: String, in stateDir: String) throws {
        let base = stateDir.hasSuffix("/") ? String(stateDir.dropLast()) : stateDir
        guard dir.hasPrefix(base + "/") else {
            try FileManager.default.createDirectory(
                atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            return
        }
        try FileManager.default.createDirectory(
            atPath: base, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let owner = owner(of: base)
        var path = base
        for part in dir.dropFirst(base.count + 1).split(separator: "/") {
            path += "/" + part
            try systemCall("mkdir \(path)", tolerating: [EEXIST]) { mkdir(path, 0o700) }
            var st = stat()
            try systemCall("lstat \(path)") { lstat(path, &st) }
            guard (st.st_mode & S_IFMT) == S_IFDIR else {
                throw SystemCallError(call: "mkdir \(path) (it exists and is not a directory)", errno: ENOTDIR)
            }
            if let owner, st.st_uid != owner.uid || st.st_gid != owner.gid {
                try systemCall("chown \(path)") { lchown(path, owner.uid, owner.gid) }
            }
        }
    }

    /// Gives `path`, just created under `stateDir`, to the state directory's owner (a no-op
    /// unless root). The link itself, never what it might point to.
    public static func giveToOwner(_ path: String, in stateDir: String) throws {
        guard let owner = owner(of: stateDir) else { return }
        try systemCall("chown \(path)") { lchown(path, owner.uid, owner.gid) }
    }
}
