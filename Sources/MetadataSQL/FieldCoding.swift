import Foundation
import GatewayCore

/// Header lists and checksum maps are stored as text columns, one `name:value` per line. HTTP
/// header names never contain ':' and values never contain CR or LF (FastCGI hands them over
/// unfolded), so the format needs no escaping and decodes without a JSON parser on every GET.
enum FieldCoding {
    static func encode(_ headers: [Header]) -> String {
        headers.map { $0.name + ":" + clean($0.value) }.joined(separator: "\n")
    }

    static func decodeHeaders(_ text: String) -> [Header] {
        lines(text).map { Header($0.0, $0.1) }
    }

    static func encode(_ map: [String: String]) -> String {
        map.sorted { $0.key < $1.key }.map { $0.key + ":" + clean($0.value) }.joined(separator: "\n")
    }

    static func decodeMap(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for (k, v) in lines(text) { out[k] = v }
        return out
    }

    /// Part blobs of a multipart object: one `blob:size` per line.
    static func encode(_ parts: [BlobPart]) -> String {
        parts.map { "\($0.blob):\($0.size)" }.joined(separator: "\n")
    }

    static func decodeParts(_ text: String) -> [BlobPart] {
        lines(text).compactMap { b, size in Int64(size).map { BlobPart(blob: b, size: $0) } }
    }

    /// Part sizes of a multipart object: "n,n,…".
    static func encode(sizes: [Int64]) -> String {
        sizes.map(String.init).joined(separator: ",")
    }

    static func decodeSizes(_ text: String) -> [Int64] {
        text.split(separator: ",").compactMap { Int64($0) }
    }

    /// Replicas: one `zone backend-bucket blob state` per line (none of them contains a space).
    static func encode(_ replicas: [Replica]) -> String {
        replicas.map { "\($0.zone) \($0.backendBucket) \($0.blob.isEmpty ? "-" : $0.blob) \($0.state.rawValue)" }
            .joined(separator: "\n")
    }

    static func decodeReplicas(_ text: String) -> [Replica] {
        text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ").map(String.init)
            guard f.count == 4, let state = Replica.State(rawValue: f[3]) else { return nil }
            return Replica(zone: f[0], backendBucket: f[1], blob: f[2] == "-" ? "" : f[2], state: state)
        }
    }

    /// A bucket's Object Lock configuration: "" when lock is off, "Enabled" without a default
    /// retention, "Enabled GOVERNANCE 30d" / "Enabled COMPLIANCE 2y" with one.
    static func encode(objectLock c: ObjectLockConfig?) -> String {
        guard let c else { return "" }
        guard let d = c.defaultRetention else { return "Enabled" }
        let period = d.years.map { "\($0)y" } ?? "\(d.days ?? 0)d"
        return "Enabled \(d.mode.rawValue) \(period)"
    }

    static func decodeObjectLock(_ text: String) -> ObjectLockConfig? {
        if text.isEmpty { return nil }
        let f = text.split(separator: " ")
        guard f.count == 3, let mode = ObjectLockMode(rawValue: String(f[1])), let n = Int(f[2].dropLast()) else {
            return ObjectLockConfig()
        }
        return ObjectLockConfig(
            defaultRetention: f[2].hasSuffix("y")
                ? .init(mode: mode, years: n) : .init(mode: mode, days: n))
    }

    /// An upload's lock settings: "MODE until hold" ("- 0 1" for a legal hold alone), "" for none.
    static func encode(lock l: LockSettings) -> String {
        if l == LockSettings() { return "" }
        return "\(l.retention?.mode.rawValue ?? "-") \(l.retention?.until ?? 0) \(l.legalHold ? 1 : 0)"
    }

    static func decodeLock(_ text: String) -> LockSettings {
        let f = text.split(separator: " ")
        guard f.count == 3 else { return LockSettings() }
        let retention = ObjectLockMode(rawValue: String(f[0])).map { Retention(mode: $0, until: Double(f[1]) ?? 0) }
        return LockSettings(retention: retention, legalHold: f[2] == "1")
    }

    /// Tags: keys may contain ':' (and anything may contain '%'), so both sides are escaped.
    static func encodeTags(_ tags: [Header]) -> String {
        tags.map { escape($0.name) + ":" + escape($0.value) }.joined(separator: "\n")
    }

    static func decodeTags(_ text: String) -> [Header] {
        lines(text).map { Header(unescape($0.0), unescape($0.1)) }
    }

    private static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: ":", with: "%3A")
            .replacingOccurrences(of: "\n", with: "%0A").replacingOccurrences(of: "\r", with: "%0D")
    }

    private static func unescape(_ s: String) -> String {
        guard s.contains("%") else { return s }
        return s.replacingOccurrences(of: "%0D", with: "\r").replacingOccurrences(of: "%0A", with: "\n")
            .replacingOccurrences(of: "%3A", with: ":").replacingOccurrences(of: "%25", with: "%")
    }

    private static func clean(_ v: String) -> String {
        v.utf8.contains { $0 == 0x0A || $0 == 0x0D } ? String(v.filter { $0 != "\n" && $0 != "\r" }) : v
    }

    private static func lines(_ text: String) -> [(String, String)] {
        if text.isEmpty { return [] }
        return text.utf8.split(separator: 0x0A).compactMap { line in
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return nil }
            return (String(text[line.startIndex..<colon]), String(text[text.utf8.index(after: colon)..<line.endIndex]))
        }
    }
}
