import ArgumentParser

/// `s3gw kms-keys`: a tenant's SSE-KMS keys (docs/ENCRYPTION.md). Key material never leaves the
/// gateway: the commands name keys and change their state, alias or current version.
struct KMSKeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kms-keys",
        abstract: "Manage a tenant's SSE-KMS keys (locally, or with --endpoint through the admin API).",
        subcommands: [List.self, Create.self, Show.self, Update.self, Rotate.self])

    static let fields = ["id", "arn", "tenant", "alias", "description", "kind", "state", "versions", "created_at"]

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the tenant's keys.")
        @OptionGroup var admin: AdminOptions
        @Argument(help: "The tenant id.") var tenant: String

        func run() throws {
            try admin.run { client throws(AdminFailure) in
                let items = try client.list(AdminCall("GET", ["tenants", tenant, "kms-keys"]))
                client.printList(
                    items,
                    columns: [
                        .init("ID", "id"), .init("ALIAS", "alias"), .init("KIND", "kind"), .init("STATE", "state"),
                        .init("VERSIONS", "versions"), .init("CREATED", "created_at"),
                    ],
                    empty: "no keys")
            }
        }
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key.")
        @OptionGroup var admin: AdminOptions
        @Argument(help: "The tenant id.") var tenant: String
        @Option(help: "A name unique within the tenant (requests name it alias/<name>).") var alias: String?
        @Option(help: "What the key is for.") var description: String?

        struct Body: Encodable {
            var alias: String?
            var description: String?
        }

        func run() throws {
            try admin.run { client throws(AdminFailure) in
                let k = try client.send(
                    AdminCall(
                        "POST", ["tenants", tenant, "kms-keys"], json: Body(alias: alias, description: description)))
                client.printObject(k, fields: KMSKeysCommand.fields)
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a key.")
        @OptionGroup var admin: AdminOptions
        @Argument(help: "The tenant id.") var tenant: String
        @Argument(help: "The key id.") var id: String

        func run() throws {
            try admin.run { client throws(AdminFailure) in
                client.printObject(
                    try client.send(AdminCall("GET", ["tenants", tenant, "kms-keys", id])),
                    fields: KMSKeysCommand.fields)
            }
        }
    }

    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Enable or disable a key, or change its alias (a disabled key neither encrypts nor decrypts).")
        @OptionGroup var admin: AdminOptions
        @Argument(help: "The tenant id.") var tenant: String
        @Argument(help: "The key id.") var id: String
        @Option(help: "Enabled or Disabled.") var state: String?
        @Option(help: "The new alias (\"\" removes it).") var alias: String?

        struct Body: Encodable {
            var state: String?
            var alias: String?
        }

        func run() throws {
            try admin.run { client throws(AdminFailure) in
                let k = try client.send(
                    AdminCall("PATCH", ["tenants", tenant, "kms-keys", id], json: Body(state: state, alias: alias)))
                client.printObject(k, fields: KMSKeysCommand.fields)
            }
        }
    }

    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give the key a new current version (new objects use it; `s3gw keys rewrap` moves old ones).")
        @OptionGroup var admin: AdminOptions
        @Argument(help: "The tenant id.") var tenant: String
        @Argument(help: "The key id.") var id: String

        func run() throws {
            try admin.run { client throws(AdminFailure) in
                let k = try client.send(AdminCall("POST", ["tenants", tenant, "kms-keys", id, "rotate"]))
                client.printObject(k, fields: KMSKeysCommand.fields)
            }
        }
    }
}
