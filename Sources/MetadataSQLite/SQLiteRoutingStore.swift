import GatewayCore
import Synchronization

/// The global router's table in its own small SQLite file (`router.sqlite`), apart from any
/// gateway's metadata: four tables of names, so an operator (or a test) reading the file finds
/// routing data and nothing else. One connection behind a lock: each request makes one indexed
/// lookup, and the router's threads share it.
public final class SQLiteRoutingStore: RoutingStore {
    private let connection: Mutex<SQLiteConnection>

    public init(path: String) throws(StoreError) {
        let c = try SQLiteConnection(path: path)
        try c.exec(
            """
            CREATE TABLE IF NOT EXISTS regions (
                name TEXT PRIMARY KEY, endpoint TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS tenants (
                id TEXT PRIMARY KEY, region TEXT NOT NULL REFERENCES regions(name));
            CREATE TABLE IF NOT EXISTS access_keys (
                access_key_id TEXT PRIMARY KEY, tenant TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE);
            CREATE TABLE IF NOT EXISTS buckets (
                name TEXT PRIMARY KEY, tenant TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE);
            CREATE INDEX IF NOT EXISTS access_keys_tenant ON access_keys(tenant);
            CREATE INDEX IF NOT EXISTS buckets_tenant ON buckets(tenant);
            """)
        connection = Mutex(c)
    }

    private func with<T>(_ body: (SQLiteConnection) throws(StoreError) -> T) throws(StoreError) -> T {
        try connection.withLock { c throws(StoreError) in try body(c) }
    }

    private static func table(_ kind: RouteKind) -> (table: String, key: String) {
        switch kind {
        case .accessKey: return ("access_keys", "access_key_id")
        case .bucket: return ("buckets", "name")
        }
    }

    public func putRegion(_ r: RouteRegion) throws(StoreError) {
        try with { c throws(StoreError) in
            try c.query(
                "INSERT INTO regions (name, endpoint) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET endpoint = excluded.endpoint",
                [.text(r.name), .text(r.endpoint)])
        }
    }

    public func region(_ name: String) throws(StoreError) -> RouteRegion? {
        try with { c throws(StoreError) in
            var out: RouteRegion?
            try c.query("SELECT name, endpoint FROM regions WHERE name = ?", [.text(name)]) { row in
                out = RouteRegion(name: row.text(0), endpoint: row.text(1))
            }
            return out
        }
    }

    public func regions() throws(StoreError) -> [RouteRegion] {
        try with { c throws(StoreError) in
            var out: [RouteRegion] = []
            try c.query("SELECT name, endpoint FROM regions ORDER BY name", []) { row in
                out.append(RouteRegion(name: row.text(0), endpoint: row.text(1)))
            }
            return out
        }
    }

    public func deleteRegion(_ name: String) throws(StoreError) {
        try with { c throws(StoreError) in
            try c.transaction { () throws(StoreError) in
                if try c.exists("SELECT 1 FROM tenants WHERE region = ?", [.text(name)]) {
                    throw .entityInUse("tenants are routed to region \(name)")
                }
                try c.query("DELETE FROM regions WHERE name = ?", [.text(name)])
                if c.changes == 0 { throw .noSuchEntity("region \(name)") }
            }
        }
    }

    public func putTenant(_ t: RouteTenant) throws(StoreError) {
        try with { c throws(StoreError) in
            try c.transaction { () throws(StoreError) in
                guard try c.exists("SELECT 1 FROM regions WHERE name = ?", [.text(t.region)]) else {
                    throw .noSuchEntity("region \(t.region)")
                }
                try c.query(
                    "INSERT INTO tenants (id, region) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET region = excluded.region",
                    [.text(t.id), .text(t.region)])
            }
        }
    }

    public func tenant(_ id: String) throws(StoreError) -> RouteTenant? {
        try with { c throws(StoreError) in
            var out: RouteTenant?
            try c.query("SELECT id, region FROM tenants WHERE id = ?", [.text(id)]) { row in
                out = RouteTenant(id: row.text(0), region: row.text(1))
            }
            return out
        }
    }

    public func tenants() throws(StoreError) -> [RouteTenant] {
        try with { c throws(StoreError) in
            var out: [RouteTenant] = []
            try c.query("SELECT id, region FROM tenants ORDER BY id", []) { row in
                out.append(RouteTenant(id: row.text(0), region: row.text(1)))
            }
            return out
        }
    }

    public func deleteTenant(_ id: String) throws(StoreError) {
        try with { c throws(StoreError) in
            try c.query("DELETE FROM tenants WHERE id = ?", [.text(id)])
            if c.changes == 0 { throw .noSuchEntity("tenant \(id)") }
        }
    }

    public func putEntry(_ kind: RouteKind, name: String, tenant: String, replace: Bool) throws(StoreError) {
        let (table, key) = Self.table(kind)
        try with { c throws(StoreError) in
            try c.transaction { () throws(StoreError) in
                guard try c.exists("SELECT 1 FROM tenants WHERE id = ?", [.text(tenant)]) else {
                    throw .noSuchEntity("tenant \(tenant)")
                }
                if !replace,
                    try c.exists(
                        "SELECT 1 FROM \(table) WHERE \(key) = ? AND tenant <> ?", [.text(name), .text(tenant)])
                {
                    throw .entityInUse(
                        "\(kind == .bucket ? "bucket" : "access key") \(name) is routed to another tenant (replace=true moves it)"
                    )
                }
                try c.query(
                    "INSERT INTO \(table) (\(key), tenant) VALUES (?, ?) ON CONFLICT(\(key)) DO UPDATE SET tenant = excluded.tenant",
                    [.text(name), .text(tenant)])
            }
        }
    }

    public func deleteEntry(_ kind: RouteKind, name: String) throws(StoreError) {
        let (table, key) = Self.table(kind)
        try with { c throws(StoreError) in
            try c.query("DELETE FROM \(table) WHERE \(key) = ?", [.text(name)])
            if c.changes == 0 { throw .noSuchEntity("\(kind == .bucket ? "bucket" : "access key") \(name)") }
        }
    }

    public func entries(_ kind: RouteKind, tenant: String?) throws(StoreError) -> [RouteEntry] {
        let (table, key) = Self.table(kind)
        return try with { c throws(StoreError) in
            var out: [RouteEntry] = []
            let filter = tenant == nil ? "" : " WHERE tenant = ?"
            try c.query(
                "SELECT \(key), tenant FROM \(table)\(filter) ORDER BY \(key)", tenant.map { [.text($0)] } ?? []
            ) { row in
                out.append(RouteEntry(name: row.text(0), tenant: row.text(1)))
            }
            return out
        }
    }

    public func resolve(_ kind: RouteKind, name: String) throws(StoreError) -> ResolvedRoute? {
        let (table, key) = Self.table(kind)
        return try with { c throws(StoreError) in
            var out: ResolvedRoute?
            try c.query(
                """
                SELECT t.id, r.name, r.endpoint FROM \(table) e JOIN tenants t ON t.id = e.tenant
                JOIN regions r ON r.name = t.region WHERE e.\(key) = ?
                """, [.text(name)]
            ) { row in
                out = ResolvedRoute(tenant: row.text(0), region: RouteRegion(name: row.text(1), endpoint: row.text(2)))
            }
            return out
        }
    }
}
