import Foundation
import GatewayCore

/// Header lists and checksum maps are stored as JSON text columns.
enum FieldCoding {
    static func encode(_ headers: [Header]) -> String {
        let pairs = headers.map { [$0.name, $0.value] }
        let data = (try? JSONSerialization.data(withJSONObject: pairs)) ?? Data("[]".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    static func decodeHeaders(_ text: String) -> [Header] {
        guard let arr = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String]] else { return [] }
        return arr.compactMap { $0.count == 2 ? Header($0[0], $0[1]) : nil }
    }

    static func encode(_ map: [String: String]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: map, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    static func decodeMap(_ text: String) -> [String: String] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String]) ?? [:]
    }
}
