// Date parsing by hand: Foundation's DateFormatter is slow and not thread-safe to share, and
// the gateway parses a date on every request.

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's days_from_civil).
func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int {
    let y = m <= 2 ? y0 - 1 : y0
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let mp = (m + 9) % 12
    let doy = (153 * mp + 2) / 5 + d - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146097 + doe - 719468
}

func civilFromDays(_ z0: Int) -> (year: Int, month: Int, day: Int) {
    let z = z0 + 719468
    let era = (z >= 0 ? z : z - 146096) / 146097
    let doe = z - era * 146097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
    let y = yoe + era * 400
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    return (m <= 2 ? y + 1 : y, m, d)
}

private func digits(_ u: ArraySlice<UInt8>) -> Int? {
    var v = 0
    for c in u {
        guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
        v = v * 10 + Int(c - UInt8(ascii: "0"))
    }
    return u.isEmpty ? nil : v
}

func epoch(_ y: Int, _ mo: Int, _ d: Int, _ h: Int, _ mi: Int, _ s: Int) -> Int? {
    guard (1...12).contains(mo), (1...31).contains(d), (0...23).contains(h), (0...59).contains(mi),
        (0...60).contains(s)
    else { return nil }
    return daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s
}

/// "20130524T000000Z" (ISO 8601 basic, the SigV4 timestamp) → seconds since 1970.
func parseAmzDate(_ s: String) -> Int? {
    let u = Array(s.utf8)
    guard u.count == 16, u[8] == UInt8(ascii: "T"), u[15] == UInt8(ascii: "Z"),
        let y = digits(u[0..<4]), let mo = digits(u[4..<6]), let d = digits(u[6..<8]),
        let h = digits(u[9..<11]), let mi = digits(u[11..<13]), let sec = digits(u[13..<15])
    else { return nil }
    return epoch(y, mo, d, h, mi, sec)
}

/// Seconds since 1970 → "20130524T000000Z".
func formatAmzDate(_ t: Int) -> String {
    let days = t >= 0 ? t / 86400 : (t - 86399) / 86400
    let rem = t - days * 86400
    let c = civilFromDays(days)
    func p(_ v: Int, _ w: Int) -> String {
        let s = String(v)
        return String(repeating: "0", count: max(0, w - s.count)) + s
    }
    return p(c.year, 4) + p(c.month, 2) + p(c.day, 2) + "T" + p(rem / 3600, 2) + p(rem / 60 % 60, 2)
        + p(rem % 60, 2) + "Z"
}

private let monthNames = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

/// RFC 1123 ("Fri, 24 May 2013 00:00:00 GMT" or "+0000"), as SigV2 clients and s3cmd's
/// `x-amz-date` send it; also RFC 850 and asctime, which HTTP/1.1 still allows.
func parseHTTPDate(_ s: String) -> Int? {
    var parts = s.split(whereSeparator: { $0 == " " || $0 == "," }).map { String($0) }
    guard !parts.isEmpty else { return nil }
    // Drop the weekday, whatever its spelling.
    if let f = parts.first?.first, f.isLetter, parts.count > 1 { parts.removeFirst() }
    var day: Int?
    var month: Int?
    var year: Int?
    var time: [Int]?
    var offset = 0
    if parts.count >= 3, parts[0].contains("-") {
        // RFC 850: "24-May-13 00:00:00 GMT"
        let dmy = parts[0].split(separator: "-").map(String.init)
        guard dmy.count == 3 else { return nil }
        day = Int(dmy[0])
        month = monthNames.firstIndex(of: dmy[1].lowercased()).map { $0 + 1 }
        year = Int(dmy[2]).map { $0 < 100 ? ($0 < 70 ? 2000 + $0 : 1900 + $0) : $0 }
        time = parts[1].split(separator: ":").compactMap { Int($0) }
        parts = Array(parts.dropFirst(2))
    } else if parts.count >= 4, let m = monthNames.firstIndex(of: parts[0].lowercased()) {
        // asctime: "May 24 00:00:00 2013"
        month = m + 1
        day = Int(parts[1])
        time = parts[2].split(separator: ":").compactMap { Int($0) }
        year = Int(parts[3])
        parts = Array(parts.dropFirst(4))
    } else if parts.count >= 4 {
        day = Int(parts[0])
        month = monthNames.firstIndex(of: parts[1].lowercased()).map { $0 + 1 }
        year = Int(parts[2])
        time = parts[3].split(separator: ":").compactMap { Int($0) }
        parts = Array(parts.dropFirst(4))
    }
    if let zone = parts.first {
        let z = Array(zone.utf8)
        if zone == "GMT" || zone == "UTC" || zone == "Z" {
            offset = 0
        } else if z.count == 5, z[0] == UInt8(ascii: "+") || z[0] == UInt8(ascii: "-"),
            let hh = Int(String(decoding: z[1..<3], as: UTF8.self)),
            let mm = Int(String(decoding: z[3..<5], as: UTF8.self))
        {
            offset = (hh * 3600 + mm * 60) * (z[0] == UInt8(ascii: "-") ? -1 : 1)
        } else {
            return nil
        }
    }
    guard let d = day, let mo = month, let y = year, let t = time, t.count == 3,
        let e = epoch(y, mo, d, t[0], t[1], t[2])
    else { return nil }
    return e - offset
}
