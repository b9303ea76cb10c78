/// A new access key id and secret, for every credential the gateway makes (the generated root
/// credentials, users' keys, STS sessions): the prefix (`S3GW`, `ASIA` for sessions) + 16 base32
/// characters, and 40 characters of secret.
public enum NewCredential {
    public static func make(prefix: String = "S3GW") -> (accessKey: String, secret: String) {
        (
            prefix + random(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"),
            random(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        )
    }

    static func random(_ count: Int, _ alphabet: String) -> String {
        let chars = Array(alphabet)
        var g = SystemRandomNumberGenerator()
        return String((0..<count).map { _ in chars[Int.random(in: 0..<chars.count, using: &g)] })
    }
}
