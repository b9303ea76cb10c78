import ArgumentParser

/// `s3gw credentials`: a user's access keys. A secret key is shown once, by the command that
/// creates or rotates it; nothing shows it again.
struct CredentialsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "credentials", abstract: "Manage a user's access keys (at most two at once, for rotation).",
        subcommands: [
            List.self, Create.self, Show.self, SetStatus<Deactivate>.self, SetStatus<Reactivate>.self, Delete.self,
            Rotate.self,
        ])

    static let fields = ["access_key", "secret_key", "tenant", "user", "status", "created_at"]

    /// The arguments naming one user, or one of its keys.
    struct UserArguments: ParsableArguments {
        @Argument(help: "The tenant id.") var tenant: String
        @Argument(help: "The user name.") var user: String
        var path: [String] { ["tenants", tenant, "users", user, "credentials"] }
    }

    struct KeyArguments: ParsableArguments {
        @OptionGroup var owner: UserArguments
        @Argument(help: "The access key id.") var key: String
        var path: [String] { owner.path + [key] }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a user's access keys (never their secrets).")
        @OptionGroup var admin: AdminOptions
        @OptionGroup var owner: UserArguments

        func run() throws {
            try admin.run { client throws(AdminFailure) in
                let items = try client.list(AdminCall("GET", owner.path))
                client.printList(
                    items,
                    columns: [
                        .init("ACCESS KEY", "access_key"), .init("STATUS", "status"), .init("CREATED", "created_at"),
                    ],
                    empty: "user \(owner.user) of tenant \(owner.tenant) has no access keys")
            }
        }
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an access key; its secret is shown this once.")
        @OptionGroup var admin: AdminOptions
        @OptionGroup var owner: UserArguments

        func run() throws {
            try admin.run { client throws(AdminFailure) in
                CredentialsCommand.showSecretOnce(client, try client.send(AdminCall("POST", owner.path)))
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an access key (never its secret).")
        @OptionGroup var admin: AdminOptions
        @OptionGroup var key: KeyArguments

        func run() throws {
            try admin.run { client throws(AdminFailure) in
                client.printObject(try client.send(AdminCall("GET", key.path)), fields: CredentialsCommand.fields)
            }
        }
    }

    protocol Status {
        static var name: String { get }
        static var value: String { get }
        static var abstract: String { get }
    }

    enum Deactivate: Status {
        static let name = "deactivate"
        static let value = "inactive"
        static let abstract = "Stop an access key (and the sessions issued under it) from working, within seconds."
    }

    enum Reactivate: Status {
        static let name = "reactivate"
        static let value = "active"
        static let abstract = "Let a deactivated access key work again."
    }

    struct SetStatus<S: Status>: ParsableCommand {
        static var configuration: CommandConfiguration {
            CommandConfiguration(commandName: S.name, abstract: S.abstract)
        }
        @OptionGroup var admin: AdminOptions
        @OptionGroup var key: KeyArguments

        struct Body: Encodable { var status: String }

        func run() throws {
            try admin.run { client throws(AdminFailure) in
                let c = try client.send(AdminCall("PATCH", key.path, json: Body(status: S.value)))
                client.printObject(c, fields: CredentialsCommand.fields)
            }
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete an access key and every session issued under it.")
        @OptionGroup var admin: AdminOptions
        @OptionGroup var key: KeyArguments

        func run() throws {
            try admin.run { client throws(AdminFailure) in
                try client.send(AdminCall("DELETE", key.path))
                client.done("deleted access key \(key.key)")
            }
        }
    }

    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give an access key a new secret (shown this once); the old secret stops working.")
        @OptionGroup var admin: AdminOptions
        @OptionGroup var key: KeyArguments

        func run() throws {
            try admin.run { client throws(AdminFailure) in
                CredentialsCommand.showSecretOnce(client, try client.send(AdminCall("POST", key.path + ["rotate"])))
            }
        }
    }

    /// The one place a secret key is printed: the answer that made it, on the operator's
    /// terminal (or a script's pipe with --json), with a reminder that it is not kept in clear.
    static func showSecretOnce(_ client: AdminClient, _ answer: JSONValue?) {
        client.printObject(answer, fields: fields)
        client.note("the secret key is shown only now: store it safely (it is not kept in clear)")
    }
}
