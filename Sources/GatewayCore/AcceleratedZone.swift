/// A zone whose blobs are files nginx can send itself: a GET the gateway has decided answers
/// with `X-Accel-Redirect` to an `internal` nginx location over the zone's directory
/// (docs/ARCHITECTURE.md, "Filesystem-zone GETs served by nginx"), so the bytes never pass
/// through a worker. Remote zones are not accelerated zones: their bytes keep streaming.
public protocol AcceleratedZone: StorageZone {
    /// The blob's path relative to the directory nginx's location for this zone aliases
    /// (`<backend bucket>/<id[0..2]>/<id>`); nil when the blob cannot be named so.
    func acceleratedPath(backendBucket: String, blob: String) -> String?
}
