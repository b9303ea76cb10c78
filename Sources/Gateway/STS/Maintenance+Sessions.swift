import GatewayCore

extension Maintenance {
    /// Removes sessions that expired more than `[sts]`'s retention ago (an hour): until then a
    /// request with the old token is told ExpiredToken, after it the key is simply unknown.
    /// Returns how many went.
    public static func removeExpiredSessions(_ ctx: GatewayContext, now: Double) throws -> Int {
        try ctx.identities.store.deleteExpiredSessions(before: now - ctx.sts.retention)
    }
}
