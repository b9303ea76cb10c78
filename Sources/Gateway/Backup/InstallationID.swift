import Foundation
import GatewayCore

/// The installation's GUID, naming its backups (`databases/<GUID>/`): kept in the state
/// directory (`installation-id`) and in the metadata store, so a store restored on a new host
/// brings it back and a host whose state directory survived keeps it.
public enum InstallationID {
    static let stateKey = "installation.id"

    public static func path(stateDir: String) -> String { stateDir + "/installation-id" }

    /// The file's id, else the store's, else a new one; afterwards both hold it.
    public static func resolve(stateDir: String, store: any MetadataStore) throws -> String {
        let file = path(stateDir: stateDir)
        let fromFile = (try? String(contentsOfFile: file, encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let fromStore = try store.agentState(stateKey)
        let id = [fromFile, fromStore].compactMap { $0 }.first(where: isValid) ?? UUID().uuidString.lowercased()
        if fromStore != id { try store.setAgentState(stateKey, id) }
        if fromFile != id { try write(id, stateDir: stateDir) }
        return id
    }

    /// Written by a restore, so the restored installation backs up where it did before.
    public static func write(_ id: String, stateDir: String) throws {
        try StateDirectory.makeDirectory(stateDir, in: stateDir)
        let file = path(stateDir: stateDir)
        unlink(file)
        try writePrivate(path: file, id + "\n")
        try StateDirectory.giveToOwner(file, in: stateDir)
    }

    public static func isValid(_ id: String) -> Bool {
        UUID(uuidString: id) != nil && id == id.lowercased()
    }
}
