/// `"abc"` → `abc`: ETags come quoted (and sometimes weak, `W/"abc"`) in headers and listings
/// alike; records, snapshots and comparisons hold the bare value.
public func unquotedETag(_ etag: String) -> String {
    var t = Substring(etag)
    while t.first == " " || t.first == "\t" { t.removeFirst() }
    while t.last == " " || t.last == "\t" { t.removeLast() }
    if t.hasPrefix("W/") { t.removeFirst(2) }
    if t.count >= 2 && t.hasPrefix("\"") && t.hasSuffix("\"") { t = t.dropFirst().dropLast() }
    return String(t)
}
