import GatewayCore

extension InMemoryMetadataStore {
    public func deferJob(id: Int64, owner: String, until: Double) throws(StoreError) {
        state.withLock { s in
            guard var j = s.jobs[id], j.leaseOwner == owner, j.state == .running else { return }
            j.state = .pending
            j.notBefore = until
            j.attempts = max(j.attempts - 1, 0)
            j.leaseOwner = ""
            j.leaseUntil = 0
            j.lastError = ReplicationJob.deferredNote
            s.jobs[id] = j
        }
    }
}
