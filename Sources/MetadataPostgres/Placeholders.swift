/// The store writes `?` placeholders (as SQLite takes them); PostgreSQL numbers its parameters.
/// A `?` inside quoted text, a quoted identifier or a comment is not a placeholder and stays.
enum Placeholders {
    /// `sql` with each placeholder replaced by `$1, $2, …` in order, and how many there were.
    static func numbered(_ sql: String) -> (sql: String, count: Int) {
        var out = ""
        out.reserveCapacity(sql.utf8.count + 16)
        var count = 0
        var state = State.plain
        var previous: Character = " "
        for c in sql {
            switch state {
            case .plain:
                switch c {
                case "?":
                    count += 1
                    out += "$\(count)"
                    previous = c
                    continue
                case "'": state = .quoted("'")
                case "\"": state = .quoted("\"")
                case "-" where previous == "-": state = .lineComment
                case "*" where previous == "/":
                    // Its own `*` cannot also close it ("/*/" is still open).
                    state = .blockComment
                    out.append(c)
                    previous = " "
                    continue
                default: break
                }
            case .quoted(let q):
                // A doubled quote ('it''s') leaves and re-enters at once, which is what it means.
                if c == q { state = .plain }
            case .lineComment:
                if c == "\n" { state = .plain }
            case .blockComment:
                if c == "/" && previous == "*" {
                    state = .plain
                    out.append(c)
                    previous = " "
                    continue
                }
            }
            out.append(c)
            previous = c
        }
        return (out, count)
    }

    private enum State: Equatable {
        case plain
        case quoted(Character)
        case lineComment
        case blockComment
    }
}
