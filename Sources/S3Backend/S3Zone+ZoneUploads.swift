import GatewayCore
import S3Protocol
import SigV4

/// The provider's open multipart uploads (ListMultipartUploads), for the sweep of those the
/// gateway lost track of. Parsed whole or refused, with the same limits as the blob listing.
extension S3Zone {
    public func listZoneUploads(backendBucket: String) throws(StoreError) -> [ZoneUpload] {
        let what = "ListMultipartUploads \(backendBucket)"
        var uploads: [ZoneUpload] = []
        var marker: (key: String, upload: String)?
        var seen: Set<String> = []
        var emptyPages = 0
        while true {
            var query = "uploads&max-uploads=1000&encoding-type=url"
            if let marker {
                query += "&key-marker=" + uriEncode(marker.key, encodeSlash: true)
                if !marker.upload.isEmpty {
                    query += "&upload-id-marker=" + uriEncode(marker.upload, encodeSlash: true)
                }
            }
            let (status, body) = try run("GET", bucket: backendBucket, query: query, answerLimit: Self.listingLimit)
            if status == 404 { return uploads }  // no backend bucket: no uploads
            guard status == 200 else { throw failure(what, status, body) }
            guard let root = XMLNode.parse(body), root.name == "ListMultipartUploadsResult" else {
                throw refused(what, "not an upload listing")
            }
            let encoded = root.child("EncodingType")?.text == "url"
            func decoded(_ raw: String) -> String? {
                encoded ? percentDecode(raw.replacingOccurrences(of: "+", with: " ")) : raw
            }
            let entries = root.children("Upload")
            for entry in entries {
                guard let rawKey = entry.child("Key")?.text, let key = decoded(rawKey), !key.isEmpty,
                    let id = entry.child("UploadId")?.text, !id.isEmpty
                else {
                    throw refused(what, "an upload without a valid Key and UploadId")
                }
                uploads.append(
                    ZoneUpload(
                        key: key, uploadId: id,
                        initiated: entry.child("Initiated").flatMap { HTTPDate.parseISO8601($0.text) },
                        handle: key + " " + id))
            }
            guard root.child("IsTruncated")?.text == "true" else { return uploads }
            guard let rawNext = root.child("NextKeyMarker")?.text, let nextKey = decoded(rawNext), !nextKey.isEmpty
            else {
                throw refused(what, "a truncated page without a NextKeyMarker")
            }
            let next = (key: nextKey, upload: root.child("NextUploadIdMarker")?.text ?? "")
            // The markers must move on; a provider repeating them would be listed forever.
            guard seen.insert(next.key + "\u{0}" + next.upload).inserted else {
                throw refused(what, "the same markers twice")
            }
            emptyPages = entries.isEmpty ? emptyPages + 1 : 0
            if emptyPages > 10 { throw refused(what, "empty pages that never end") }
            marker = next
        }
    }
}
