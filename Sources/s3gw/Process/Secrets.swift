import Foundation
import Gateway
import GatewayCore

#if canImport(Glibc)
    import Glibc
#endif

/// Root credentials: environment, then config, then `<state_dir>/root-credentials` (0600),
/// generated at first start. The secret is printed once then, and only when standard error is
/// the operator's terminal: `make run` and service managers send it to a log file.
struct RootCredentials {
    let accessKey: String
    let secretKey: String

    static func resolve(config: GatewayConfig, createIfMissing: Bool, announce: Bool = false) throws -> RootCredentials
    {
        let env = ProcessInfo.processInfo.environment
        if let a = env["S3GW_ACCESS_KEY"], let s = env["S3GW_SECRET_KEY"], !a.isEmpty, !s.isEmpty {
            return RootCredentials(accessKey: a, secretKey: s)
        }
        if let a = config.accessKey, let s = config.secretKey {
            return RootCredentials(accessKey: a, secretKey: s)
        }
        let path = config.stateDir + "/root-credentials"
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            var values: [String: String] = [:]
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
                if parts.count == 2 { values[parts[0]] = parts[1] }
            }
            if let a = values["S3GW_ACCESS_KEY"], let s = values["S3GW_SECRET_KEY"] {
                return RootCredentials(accessKey: a, secretKey: s)
            }
            throw SystemCallError(call: "parse \(path)", errno: EINVAL)
        }
        guard createIfMissing else { throw SystemCallError(call: "read \(path)", errno: ENOENT) }
        let (accessKey, secretKey) = NewCredential.make()
        let creds = RootCredentials(accessKey: accessKey, secretKey: secretKey)
        try writePrivate(path: path, "S3GW_ACCESS_KEY=\(creds.accessKey)\nS3GW_SECRET_KEY=\(creds.secretKey)\n")
        if announce {
            // The only place a secret is ever shown: the operator's terminal, at first start.
            let secretLine =
                isatty(STDERR_FILENO) == 1
                ? "  secret key: \(creds.secretKey)" : "  secret key: (not shown here; read it from that file)"
            FileHandle.standardError.write(
                Data(
                    """
                    s3gw: generated root credentials (saved 0600 in \(path)):
                      access key: \(creds.accessKey)
                    \(secretLine)

                    """.utf8))
        }
        return creds
    }
}

/// Keys the backend bucket name hash; generated once per installation.
enum InstallationSecret {
    static func load(stateDir: String, createIfMissing: Bool) throws -> [UInt8] {
        let path = stateDir + "/installation-secret"
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            let hex = text.trimmingCharacters(in: .whitespacesAndNewlines)
            var bytes: [UInt8] = []
            var i = hex.startIndex
            while i < hex.endIndex, let j = hex.index(i, offsetBy: 2, limitedBy: hex.endIndex),
                let b = UInt8(hex[i..<j], radix: 16)
            {
                bytes.append(b)
                i = j
            }
            if bytes.count >= 16 { return bytes }
            throw SystemCallError(call: "parse \(path)", errno: EINVAL)
        }
        guard createIfMissing else { throw SystemCallError(call: "read \(path)", errno: ENOENT) }
        var g = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &g) }
        try writePrivate(path: path, bytes.map { String(format: "%02x", $0) }.joined() + "\n")
        return bytes
    }
}
