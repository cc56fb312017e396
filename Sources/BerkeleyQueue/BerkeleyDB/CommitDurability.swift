import CBerkeleyDB

/// What a commit waits for before it returns. With `noSync` the group commit is the caller's job:
/// commit many transactions, then `Environment.flushLog()` once makes all of them durable.
public enum CommitDurability: Sendable, Hashable {
    /// `DB_TXN_NOSYNC`: the commit record stays in the in-memory log buffer. Cheapest; a `kill -9`
    /// before the next log flush loses the transaction (recovery rolls it back, cleanly).
    case noSync
    /// `DB_TXN_WRITE_NOSYNC`: the log is written to the operating system, not synced. Survives
    /// `kill -9`; an operating-system crash or power loss before the next flush may lose it.
    case writeNoSync
    /// `DB_TXN_SYNC`: the log is written and synced before the commit returns (one `fsync` per commit).
    case sync

    /// The flag for `DB_TXN->commit`.
    var commitFlag: UInt32 {
        switch self {
        case .noSync: UInt32(DB_TXN_NOSYNC)
        case .writeNoSync: UInt32(DB_TXN_WRITE_NOSYNC)
        case .sync: UInt32(DB_TXN_SYNC)
        }
    }
}
