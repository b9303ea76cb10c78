/// Builds S3 response documents. Small and allocation-light: responses are short lists.
public struct XMLWriter {
    public static let s3Namespace = "http://s3.amazonaws.com/doc/2006-03-01/"
    private var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"

    public init() {}

    public mutating func open(_ name: String, namespace: String? = nil) {
        if let namespace {
            out += "<\(name) xmlns=\"\(namespace)\">"
        } else {
            out += "<\(name)>"
        }
    }

    public mutating func close(_ name: String) { out += "</\(name)>" }

    public mutating func element(_ name: String, _ value: String) {
        out += "<\(name)>"
        out += XMLWriter.escape(value)
        out += "</\(name)>"
    }

    public mutating func element(_ name: String, _ value: Int) { element(name, String(value)) }
    public mutating func element(_ name: String, _ value: Int64) { element(name, String(value)) }
    public mutating func element(_ name: String, _ value: Bool) { element(name, value ? "true" : "false") }

    /// Text content directly inside the open element.
    public mutating func text(_ value: String) { out += XMLWriter.escape(value) }

    /// Markup this writer has no helper for (attributes on an element).
    public mutating func openRaw(_ markup: String) { out += markup }

    public var document: String { out }

    public static func escape(_ s: String) -> String {
        var r = ""
        r.reserveCapacity(s.utf8.count)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "&": r += "&amp;"
            case "<": r += "&lt;"
            case ">": r += "&gt;"
            case "\"": r += "&quot;"
            case "'": r += "&apos;"
            case "\r": r += "&#13;"
            default:
                // Control characters are not allowed in XML 1.0; S3 escapes them numerically.
                if scalar.value < 0x20 && scalar != "\n" && scalar != "\t" {
                    r += "&#\(scalar.value);"
                } else {
                    r.unicodeScalars.append(scalar)
                }
            }
        }
        return r
    }
}
