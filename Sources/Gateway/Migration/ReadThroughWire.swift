/// The one request and answer line on a read-through socket.
struct ReadThroughWire {
    struct Request: Codable {
        var bucket: String
        var key: String
    }

    struct Answer: Codable {
        /// "copied", "absent", "failed".
        var result: String
        var message: String?
    }
}
