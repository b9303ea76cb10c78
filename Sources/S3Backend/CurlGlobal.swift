internal import CCurl

/// libcurl's global state must be set up once, before any thread uses it.
public enum CurlGlobal {
    /// Why `curl_global_init` failed, if it did: every transfer then fails with this reason.
    /// Written once at start-up, before worker threads exist.
    nonisolated(unsafe) private(set) static var failure: String?

    public static func initialize() {
        let code = curl_global_init(Int(CURL_GLOBAL_DEFAULT))
        if code != CURLE_OK {
            failure = "curl_global_init failed: " + String(cString: curl_easy_strerror(code))
        }
    }

    /// `initialize()` at most once per process, for callers that cannot know whether anyone did.
    public static func initializeOnce() { _ = once }
    private static let once: Void = initialize()

    /// libcurl's version string, for diagnostics.
    public static var version: String { String(cString: curl_version()) }
}
