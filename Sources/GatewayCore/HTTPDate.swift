// Dates by hand: Foundation's DateFormatter is slow, locale-dependent and not safe to share
// between threads, and the gateway formats or parses a date on every request.

/// Every date format the gateway reads or writes: ISO 8601 in XML and POST policies, RFC 1123
/// in headers (plus RFC 850 and asctime, which HTTP still allows), and the SigV4 timestamp.
public enum HTTPDate {
    private static let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    private static let lowerMonths = months.map { $0.lowercased() }

    // MARK: formatting

    /// `2024-01-02T03:04:05.000Z` (S3 XML bodies).
    public static func iso8601(_ t: Double) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(24)
        iso8601(t, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// `iso8601(t)`'s bytes (24 for years 0 to 9999) appended to `out`, with no string made on
    /// the way: the operations log writes one per request.
    public static func iso8601(_ t: Double, into out: inout [UInt8]) {
        let c = Civil(t)
        let ms = Int(((t - t.rounded(.down)) * 1000).rounded(.down))
        put(c.year, 4, &out)
        out.append(UInt8(ascii: "-"))
        put(c.month, 2, &out)
        out.append(UInt8(ascii: "-"))
        put(c.day, 2, &out)
        out.append(UInt8(ascii: "T"))
        put(c.hour, 2, &out)
        out.append(UInt8(ascii: ":"))
        put(c.minute, 2, &out)
        out.append(UInt8(ascii: ":"))
        put(c.second, 2, &out)
        out.append(UInt8(ascii: "."))
        put(ms, 3, &out)
        out.append(UInt8(ascii: "Z"))
    }

    /// `Tue, 02 Jan 2024 03:04:05 GMT` (headers). Written as bytes: every GET and HEAD sends one,
    /// and string concatenation cost more than the rest of the header.
    public static func rfc1123(_ t: Double) -> String {
        let c = Civil(t)
        var out: [UInt8] = []
        out.reserveCapacity(29)
        out += weekdays[c.weekday].utf8
        out.append(UInt8(ascii: ","))
        out.append(UInt8(ascii: " "))
        put(c.day, 2, &out)
        out.append(UInt8(ascii: " "))
        out += months[c.month - 1].utf8
        out.append(UInt8(ascii: " "))
        put(c.year, 4, &out)
        out.append(UInt8(ascii: " "))
        put(c.hour, 2, &out)
        out.append(UInt8(ascii: ":"))
        put(c.minute, 2, &out)
        out.append(UInt8(ascii: ":"))
        put(c.second, 2, &out)
        out += " GMT".utf8
        return String(decoding: out, as: UTF8.self)
    }

    /// `20130524T000000Z` (ISO 8601 basic: `x-amz-date` and the SigV4 string to sign).
    public static func amzDate(_ t: Int) -> String {
        let c = Civil(Double(t))
        var out: [UInt8] = []
        out.reserveCapacity(16)
        put(c.year, 4, &out)
        put(c.month, 2, &out)
        put(c.day, 2, &out)
        out.append(UInt8(ascii: "T"))
        put(c.hour, 2, &out)
        put(c.minute, 2, &out)
        put(c.second, 2, &out)
        out.append(UInt8(ascii: "Z"))
        return String(decoding: out, as: UTF8.self)
    }

    /// `v`'s decimal digits, zero-padded to at least `width` (negative values as 0).
    private static func put(_ v: Int, _ width: Int, _ out: inout [UInt8]) {
        DecimalBytes.append(Int64(max(0, v)), width: width, to: &out)
    }

    // MARK: parsing (seconds since 1970)

    /// `20130524T000000Z`.
    public static func parseAmzDate(_ s: String) -> Int? {
        let u = Array(s.utf8)
        guard u.count == 16, u[8] == UInt8(ascii: "T"), u[15] == UInt8(ascii: "Z"),
            let y = digits(u[0..<4]), let mo = digits(u[4..<6]), let d = digits(u[6..<8]),
            let h = digits(u[9..<11]), let mi = digits(u[11..<13]), let sec = digits(u[13..<15])
        else { return nil }
        return epoch(y, mo, d, h, mi, sec)
    }

    /// RFC 3339 in upper case: `2026-11-23T12:00:00Z`, optionally with fractional seconds, or
    /// with an offset in place of the `Z` (`2026-11-23T13:00:00+01:00`). POST policy
    /// expirations, provider listings, the operations log's `since`.
    public static func parseISO8601(_ s: String) -> Double? {
        let u = Array(s.utf8)
        guard u.count >= 20, u[4] == UInt8(ascii: "-"), u[7] == UInt8(ascii: "-"), u[10] == UInt8(ascii: "T"),
            u[13] == UInt8(ascii: ":"), u[16] == UInt8(ascii: ":"),
            let y = digits(u[0..<4]), let mo = digits(u[5..<7]), let d = digits(u[8..<10]),
            let h = digits(u[11..<13]), let mi = digits(u[14..<16]), let sec = digits(u[17..<19]),
            let whole = epoch(y, mo, d, h, mi, sec)
        else { return nil }
        var t = Double(whole)
        var i = 19
        if u[i] == UInt8(ascii: ".") {
            var end = i + 1
            while end < u.count && u[end] >= UInt8(ascii: "0") && u[end] <= UInt8(ascii: "9") { end += 1 }
            guard let fraction = digits(u[(i + 1)..<end]) else { return nil }
            t += Double(fraction) / pow10(end - i - 1)
            i = end
        }
        guard i < u.count else { return nil }
        if u[i] == UInt8(ascii: "Z") { return i + 1 == u.count ? t : nil }
        guard u.count == i + 6, u[i] == UInt8(ascii: "+") || u[i] == UInt8(ascii: "-"), u[i + 3] == UInt8(ascii: ":"),
            let oh = digits(u[(i + 1)..<(i + 3)]), let om = digits(u[(i + 4)..<(i + 6)]), oh < 24, om < 60
        else { return nil }
        let offset = Double(oh * 3600 + om * 60)
        return u[i] == UInt8(ascii: "+") ? t - offset : t + offset
    }

    /// RFC 1123 (`Fri, 24 May 2013 00:00:00 GMT`, or with a `+0200` offset as SigV2 clients and
    /// s3cmd's `x-amz-date` send it), RFC 850 (`Friday, 24-May-13 00:00:00 GMT`) and asctime
    /// (`Fri May 24 00:00:00 2013`).
    public static func parseHTTP(_ s: String) -> Int? {
        var parts = s.split(whereSeparator: { $0 == " " || $0 == "," }).map { String($0) }
        guard !parts.isEmpty else { return nil }
        // Drop the weekday, whatever its spelling.
        if let f = parts.first?.first, f.isLetter, parts.count > 1 { parts.removeFirst() }
        var day: Int?
        var month: Int?
        var year: Int?
        var time: [Int]?
        if parts.count >= 3, parts[0].contains("-") {
            let dmy = parts[0].split(separator: "-").map(String.init)
            guard dmy.count == 3 else { return nil }
            day = Int(dmy[0])
            month = monthNumber(dmy[1])
            year = Int(dmy[2]).map { $0 < 100 ? ($0 < 70 ? 2000 + $0 : 1900 + $0) : $0 }
            time = parts[1].split(separator: ":").compactMap { Int($0) }
            parts = Array(parts.dropFirst(2))
        } else if parts.count >= 4, let m = monthNumber(parts[0]) {
            month = m
            day = Int(parts[1])
            time = parts[2].split(separator: ":").compactMap { Int($0) }
            year = Int(parts[3])
            parts = Array(parts.dropFirst(4))
        } else if parts.count >= 4 {
            day = Int(parts[0])
            month = monthNumber(parts[1])
            year = Int(parts[2])
            time = parts[3].split(separator: ":").compactMap { Int($0) }
            parts = Array(parts.dropFirst(4))
        }
        var offset = 0
        if let zone = parts.first {
            let z = Array(zone.utf8)
            if zone == "GMT" || zone == "UTC" || zone == "Z" {
                offset = 0
            } else if z.count == 5, z[0] == UInt8(ascii: "+") || z[0] == UInt8(ascii: "-"),
                let hh = digits(z[1..<3]), let mm = digits(z[3..<5])
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

    /// Seconds since 1970 of a UTC civil time; nil when a field is out of range.
    public static func epoch(_ y: Int, _ mo: Int, _ d: Int, _ h: Int, _ mi: Int, _ s: Int) -> Int? {
        guard (1...12).contains(mo), (1...daysIn(y, mo)).contains(d), (0...23).contains(h), (0...59).contains(mi),
            (0...60).contains(s)
        else { return nil }
        return daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s
    }

    // MARK: calendar arithmetic (Howard Hinnant's algorithms, proleptic Gregorian)

    private struct Civil {
        var year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, weekday: Int

        init(_ t: Double) {
            let secs = Int(t.rounded(.down))
            var days = secs / 86400
            var rem = secs % 86400
            if rem < 0 {
                rem += 86400
                days -= 1
            }
            let z = days + 719468
            let era = (z >= 0 ? z : z - 146096) / 146097
            let doe = z - era * 146097
            let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
            let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
            let mp = (5 * doy + 2) / 153
            day = doy - (153 * mp + 2) / 5 + 1
            month = mp < 10 ? mp + 3 : mp - 9
            year = yoe + era * 400 + (month <= 2 ? 1 : 0)
            hour = rem / 3600
            minute = rem % 3600 / 60
            second = rem % 60
            weekday = ((days % 7) + 7) % 7
        }
    }

    /// Days in month `m` of year `y` (Gregorian: February 29 only in leap years).
    private static func daysIn(_ y: Int, _ m: Int) -> Int {
        switch m {
        case 2: return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    private static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    private static func monthNumber(_ name: String) -> Int? {
        lowerMonths.firstIndex(of: name.lowercased()).map { $0 + 1 }
    }

    private static func digits(_ u: ArraySlice<UInt8>) -> Int? {
        guard !u.isEmpty, u.count <= 18 else { return nil }
        var v = 0
        for c in u {
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
            v = v * 10 + Int(c - UInt8(ascii: "0"))
        }
        return v
    }

    private static func pow10(_ n: Int) -> Double {
        var p = 1.0
        for _ in 0..<n { p *= 10 }
        return p
    }
}
