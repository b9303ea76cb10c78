/// Text from outside — a source's keys and bucket names, reasons that quote them — on its way to
/// a terminal: control characters (C0, DEL, C1) are written as `\u{…}`, so a key cannot move the
/// cursor, clear the screen, retitle the window or fake a line of the report.
public enum TerminalText {
    public static func safe(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var out = String.UnicodeScalarView()
        for u in text.unicodeScalars {
            if isControl(u) {
                out.append(contentsOf: "\\u{\(String(u.value, radix: 16))}".unicodeScalars)
            } else {
                out.append(u)
            }
        }
        return String(out)
    }

    static func isControl(_ u: Unicode.Scalar) -> Bool { u.value < 0x20 || (0x7F...0x9F).contains(u.value) }
}
