import CCurl
import GatewayCore

/// Owns one libcurl easy handle. One per worker thread, reset between requests, so backend
/// connections stay warm (remote zones build on this; see docs/ARCHITECTURE.md).
public final class CurlEasy {
    private let handle: UnsafeMutableRawPointer

    public init?() {
        guard let h = curl_easy_init() else { return nil }
        handle = h
    }

    deinit { curl_easy_cleanup(handle) }

    /// Clears per-request options and applies the ones every backend request needs.
    public func reset() {
        curl_easy_reset(handle)
        // Worker threads must never see signals from libcurl's resolver timeouts.
        _ = ccurl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
    }

    /// libcurl's version string, for `s3gw --version` style diagnostics.
    public static var version: String { String(cString: curl_version()) }
}
