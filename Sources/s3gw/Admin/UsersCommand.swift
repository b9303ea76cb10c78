import ArgumentParser
import Foundation

/// `s3gw users`: the users of a tenant and their permissions.
struct UsersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users", abstract: "Manage a tenant's users and their permissions.",
        discussion: """
            Permissions map actions to resource patterns, as JSON: \
            {"s3:GetObject": ["photos", "shared-*", "logs/2026/*"], "s3:PutObject": ["photos/*"]} — \
            an exact bucket, a prefix-* wildcard, *, or bucket/key/* for objects. Give the JSON \
            itself, @FILE to read it from a file, or @- from standard input.
            """,
        subcommands: [List.self, Create.self, Show.self, SetPermissions.self, Delete.self])

    static let fields = ["tenant", "name", "id", "permissions", "created_at"]

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a tenant's users.")
        @OptionGroup var admin: AdminOptions
        @Argument(help: "The tenant id.") var tenant: String

        func run() throws {
            try admin.run { client throws(AdminFailure) in
                let items = try client.list(AdminCall("GET", ["tenants", tenant, "users"], query: ["limit": "1000"]))
                client.printList(
                    items,
                    columns: [
                        .init("NAME", "name"), .init("ID", "id"),
                        .init("ACTIONS") { ($0["permissions"]?.object?.keys.sorted() ?? []).joined(separator: ", ") },
                        .init("CREATED", "created_at"),
                    ], empty: "no users in tenant \(tenant)")
            }
        }
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a user (with no access key yet).")
        @OptionGroup var admin: AdminOptions
        @Argument(help: "The tenant id.") var tenant: String
        @Argument(help: "The user name: 1 to 64 letters, digits and +=,.@_-") var name: String
        @Option(help: "Permissions: JSON, @FILE or @- (default: none).") var permissions: String?

        struct Body: Encodable {
            var name: String
            var permissions: [String: [String]]?
        }

        func run() throws {
            let rules = try permissions.map(UsersCommand.readPermissions)
            try admin.run { client throws(AdminFailure) in
                let u = try client.send(
                    AdminCall("POST", ["tenants", tenant, "users"], json: Body(name: name, permissions: rules)))
                client.printObject(u, fields: UsersCommand.fields)
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a user and its permissions.")
        @OptionGroup var admin: AdminOptions
        @Argument(help: "The tenant id.") var tenant: String
        @Argument(help: "The user name.") var name: String

        func run() throws {
            try admin.run { client throws(AdminFailure) in
                let u = try client.send(AdminCall("GET", ["tenants", tenant, "users", name]))
                client.printObject(u, fields: UsersCommand.fields)
            }
        }
    }

    struct SetPermissions: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-permissions",
            abstract: "Replace a user's permissions (in effect within seconds, no restart).")
        @OptionGroup var admin: AdminOptions
        @Argument(help: "The tenant id.") var tenant: String
        @Argument(help: "The user name.") var name: String
        @Argument(help: "The permissions: JSON, @FILE or @-.") var permissions: String

        struct Body: Encodable { var permissions: [String: [String]] }

        func run() throws {
            let rules = try UsersCommand.readPermissions(permissions)
            try admin.run { client throws(AdminFailure) in
                let u = try client.send(
                    AdminCall("PATCH", ["tenants", tenant, "users", name], json: Body(permissions: rules)))
                client.printObject(u, fields: UsersCommand.fields)
            }
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a user with all its access keys.")
        @OptionGroup var admin: AdminOptions
        @Argument(help: "The tenant id.") var tenant: String
        @Argument(help: "The user name.") var name: String

        func run() throws {
            try admin.run { client throws(AdminFailure) in
                try client.send(AdminCall("DELETE", ["tenants", tenant, "users", name]))
                client.done("deleted user \(name) of tenant \(tenant)")
            }
        }
    }

    /// A permissions argument: the JSON itself, `@FILE`, or `@-` (standard input). Only its
    /// shape is checked here; the API judges the actions and patterns.
    static func readPermissions(_ argument: String) throws -> [String: [String]] {
        var text = argument
        if argument == "@-" {
            text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        } else if argument.hasPrefix("@") {
            let path = String(argument.dropFirst())
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ValidationError("cannot read the permissions file \(path)")
            }
            text = String(decoding: data, as: UTF8.self)
        }
        guard let rules = try? JSONDecoder().decode([String: [String]].self, from: Data(text.utf8)) else {
            throw ValidationError(
                #"permissions are a JSON object of action → list of patterns: {"s3:GetObject": ["photos/*"]}"#)
        }
        return rules
    }
}
