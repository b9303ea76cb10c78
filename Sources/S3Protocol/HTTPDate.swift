import Foundation

/// The date formats S3 uses: ISO 8601 with milliseconds in XML, RFC 1123 in headers.
public enum HTTPDate {
    private static let days = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    private struct Civil {
        var year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, weekday: Int
    }

    // Howard Hinnant's civil-from-days: no DateFormatter, no locale, thread-safe.
    private static func civil(_ t: Double) -> Civil {
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
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        let wd = ((days % 7) + 7) % 7
        return Civil(
            year: y, month: m, day: d, hour: rem / 3600, minute: rem % 3600 / 60, second: rem % 60, weekday: wd)
    }

    private static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    private static func pad(_ v: Int, _ width: Int = 2) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    /// `2024-01-02T03:04:05.000Z`
    public static func iso8601(_ t: Double) -> String {
        let c = civil(t)
        let ms = Int(((t - t.rounded(.down)) * 1000).rounded(.down))
        return
            "\(pad(c.year, 4))-\(pad(c.month))-\(pad(c.day))T\(pad(c.hour)):\(pad(c.minute)):\(pad(c.second)).\(pad(ms, 3))Z"
    }

    /// `Tue, 02 Jan 2024 03:04:05 GMT`
    public static func rfc1123(_ t: Double) -> String {
        let c = civil(t)
        return
            "\(days[c.weekday]), \(pad(c.day)) \(months[c.month - 1]) \(pad(c.year, 4)) \(pad(c.hour)):\(pad(c.minute)):\(pad(c.second)) GMT"
    }

    /// Parses RFC 1123 (and the RFC 850 / asctime forms HTTP allows) to seconds since 1970.
    public static func parseHTTP(_ s: String) -> Double? {
        let parts = s.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "-" }).map(String.init)
        // RFC 1123: [Tue, 02, Jan, 2024, 03:04:05, GMT]; RFC 850: [Tuesday, 02, Jan, 24, 03:04:05, GMT]
        // asctime: [Tue, Jan, 2, 03:04:05, 2024]
        var day: Int?
        var month: Int?
        var year: Int?
        var time: String?
        for p in parts.dropFirst() {
            if let i = months.firstIndex(of: p) {
                month = i + 1
            } else if p.contains(":") {
                time = p
            } else if let v = Int(p) {
                if day == nil && v <= 31 && (p.count <= 2) {
                    day = v
                } else {
                    year = v < 100 ? 1900 + v + (v < 70 ? 100 : 0) : v
                }
            }
        }
        guard let d = day, let m = month, let y = year, let tm = time else { return nil }
        let hms = tm.split(separator: ":").compactMap { Int($0) }
        guard hms.count == 3 else { return nil }
        return Double(daysFromCivil(y, m, d) * 86400 + hms[0] * 3600 + hms[1] * 60 + hms[2])
    }
}
