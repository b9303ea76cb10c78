import CCurl

/// libcurl's global state must be set up once, before any thread uses it.
public enum CurlGlobal {
    public static func initialize() {
        curl_global_init(Int(CURL_GLOBAL_DEFAULT))
    }

    /// libcurl's version string, for diagnostics.
    public static var version: String { String(cString: curl_version()) }
}
