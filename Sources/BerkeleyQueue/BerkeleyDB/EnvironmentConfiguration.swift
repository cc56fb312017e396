/// How an `Environment` is opened: cache, log, lock-table sizes and commit durability.
///
/// The defaults suit the disk queue: commits do not sync (the processor flushes the log once per
/// group of transactions), unneeded log files are removed automatically, and the lock table is big
/// enough for transactions of many thousands of operations.
public struct EnvironmentConfiguration: Sendable, Hashable {
    /// Berkeley DB's page cache in bytes (`set_cachesize`). Berkeley DB adds about 25% for small caches.
    public var cacheSize: Int = 64 << 20

    /// The in-memory log buffer in bytes (`set_lg_bsize`). Transactions committed without sync wait
    /// here until the buffer fills or the log is flushed, so a bigger buffer means fewer writes.
    /// Must be at most a quarter of `logFileMaxSize`.
    public var logBufferSize: Int = 8 << 20

    /// The size at which Berkeley DB starts a new log file, in bytes (`set_lg_max`).
    public var logFileMaxSize: Int = 64 << 20

    /// Whether log files no longer needed for recovery are removed automatically
    /// (`log_set_config(DB_LOG_AUTO_REMOVE)`); removal happens at checkpoints. This gives up
    /// catastrophic recovery from log files, which the queue does not use.
    public var removesUnneededLogFiles = true

    /// The most locks held at once (`set_lk_max_locks`). Berkeley DB locks pages, so a transaction of
    /// thousands of puts touching thousands of pages needs thousands of locks.
    public var maxLocks: Int = 100_000

    /// The most lockers at once (`set_lk_max_lockers`): each transaction, cursor and open database is one.
    public var maxLockers: Int = 10_000

    /// The most distinct locked objects (pages, database handles) at once (`set_lk_max_objects`).
    public var maxLockObjects: Int = 100_000

    /// What a commit waits for unless `Transaction.commit(_:)` says otherwise. `.noSync`
    /// (`DB_TXN_NOSYNC`) is the group-commit setting: many commits, then one `Environment.flushLog()`.
    public var commitDurability: CommitDurability = .noSync

    /// Whether an operation that meets a lock held by another transaction waits for it. Off by
    /// default (`DB_TXN_NOWAIT`): with one thread owning every transaction a wait could never end,
    /// so the conflict is reported at once as an error whose `isDeadlock` is true.
    public var transactionsWaitForLocks = false

    /// Whether the environment's shared regions live in process memory (`DB_PRIVATE`) instead of
    /// `__db.*` files in the directory. Off by default so that `db_stat` can inspect a running server.
    public var usesPrivateRegions = false

    /// Whether a missing environment directory (and its missing parents) is created, mode 0700.
    public var createsDirectory = true

    /// The permissions of the files Berkeley DB creates (before the umask). Zero means Berkeley DB's
    /// default, readable and writable by owner and group.
    public var fileMode: Int32 = 0o600

    /// The defaults described on each property.
    public init() {}
}
