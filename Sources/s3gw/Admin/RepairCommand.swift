import ArgumentParser
import Foundation

/// `s3gw repair BUCKET [KEY]`: the scrub's check of every copy, now, for one bucket or object.
struct RepairCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repair",
        abstract: "Check a bucket's copies against their zones now and queue copies of what is missing or damaged.",
        discussion: """
            Each copy (the primary and every completed replica) is looked up in its zone: missing, \
            the wrong size, or a different ETag where the zone keeps one. A damaged replica is copied \
            again from an intact copy; a damaged primary copy hands its role to an intact replica and is \
            copied again. Dead-lettered copies of the objects checked are queued again. The agent \
            makes and verifies the copies (`s3gw replication status` shows them). Exit status 1 when \
            an object has no intact copy left or a copy could not be checked.
            """)
    @OptionGroup var admin: AdminOptions
    @OptionGroup var bucket: BucketArguments
    @Argument(help: "One object key (default: every object of the bucket).") var key: String?
    @Flag(
        help: "Read every copy and compare its bytes with the object's ETag (slow; catches damage that keeps the size)."
    )
    var deep = false

    struct Body: Encodable {
        var key: String?
        var deep: Bool
    }

    func run() throws {
        try admin.run { client throws(AdminFailure) -> Int32 in
            var call = AdminCall("POST", bucket.path + ["repair"], json: Body(key: key, deep: deep))
            call.timeout = AdminCall.longTimeout
            let r = try client.send(call) ?? .null
            func n(_ k: String) -> Int64 { r[k]?.int ?? 0 }
            if client.json {
                print(r.pretty)
            } else {
                for o in r["objects"]?.array ?? [] {
                    let object = "\(bucket.bucket)/\(o["key"]?.cell ?? "")"
                    for line in o["notes"]?.array ?? [] { print("\(object): \(line.cell)") }
                    for line in o["unchecked"]?.array ?? [] { print("\(object): not checked in \(line.cell)") }
                }
                if r["objects_truncated"]?.bool == true {
                    print("(more objects to report than listed: see the counts)")
                }
                let (queued, unchecked) = (n("queued"), n("unchecked"))
                print(
                    "checked \(n("checked")) object(s): \(queued) cop\(queued == 1 ? "y" : "ies") queued, "
                        + "\(n("lost")) without an intact copy, \(unchecked) cop\(unchecked == 1 ? "y" : "ies") not checked"
                )
            }
            return n("lost") > 0 || n("unchecked") > 0 ? 1 : 0
        }
    }
}
