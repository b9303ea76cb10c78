import ArgumentParser

/// `s3gw tenants`: the tenants of the gateway (each with its own users and bucket names).
struct TenantsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tenants", abstract: "Manage tenants (locally, or with --endpoint through the admin API).",
        subcommands: [List.self, Create.self, Show.self, Delete.self])

    static let fields = ["id", "display_name", "created_at"]

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List every tenant.")
        @OptionGroup var admin: AdminOptions

        func run() throws {
            try admin.run { client throws(AdminFailure) in
                let items = try client.list(AdminCall("GET", ["tenants"], query: ["limit": "1000"]))
                client.printList(
                    items,
                    columns: [
                        .init("ID", "id"), .init("DISPLAY NAME", "display_name"), .init("CREATED", "created_at"),
                    ],
                    empty: "no tenants")
            }
        }
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a tenant.")
        @OptionGroup var admin: AdminOptions
        @Argument(help: "The tenant id: 1 to 32 lowercase letters, digits and dashes.") var id: String
        @Option(help: "A name for people (default: the id).") var displayName: String?

        struct Body: Encodable {
            var id: String
            var displayName: String?
        }

        func run() throws {
            try admin.run { client throws(AdminFailure) in
                let t = try client.send(AdminCall("POST", ["tenants"], json: Body(id: id, displayName: displayName)))
                client.printObject(t, fields: TenantsCommand.fields)
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a tenant.")
        @OptionGroup var admin: AdminOptions
        @Argument(help: "The tenant id.") var id: String

        func run() throws {
            try admin.run { client throws(AdminFailure) in
                client.printObject(try client.send(AdminCall("GET", ["tenants", id])), fields: TenantsCommand.fields)
            }
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a tenant that has no users and no buckets left.")
        @OptionGroup var admin: AdminOptions
        @Argument(help: "The tenant id.") var id: String

        func run() throws {
            try admin.run { client throws(AdminFailure) in
                try client.send(AdminCall("DELETE", ["tenants", id]))
                client.done("deleted tenant \(id)")
            }
        }
    }
}
