import CBerkeleyDB
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A transactional Berkeley DB environment in a directory: the owner of the `DB_ENV` handle and the
/// registry of every database, transaction and cursor opened in it.
///
/// Opening always runs recovery (`DB_RECOVER`), so whatever a crash left behind is rolled forward to
/// the last durable commit. The environment is opened with `DB_CREATE | DB_INIT_TXN | DB_INIT_LOCK |
/// DB_INIT_LOG | DB_INIT_MPOOL | DB_RECOVER` and, by default, commits without syncing: call
/// `flushLog()` once after a group of commits to make all of them durable (group commit).
///
/// ## Threading
/// Not thread-safe and not `Sendable`, on purpose: one thread owns the environment and every
/// transaction, database and cursor opened in it (Berkeley DB transaction handles are not
/// free-threaded, and the handles are opened without `DB_THREAD`). Create it on that thread.
///
/// ## Handle ownership
/// Handles are closed children first: cursors, then transactions, then databases, then the
/// environment. `close()` enforces that order for whatever is still open (aborting live
/// transactions, which is logged as a programming error). Databases and transactions keep their
/// environment alive, so the environment is never released before them, and none of them calls into
/// Berkeley DB after the environment has closed them.
public final class Environment {
    /// The environment's home directory, where the databases and log files live.
    public let directory: String
    /// The configuration the environment was opened with.
    public let configuration: EnvironmentConfiguration

    /// The `DB_ENV` handle; nil once closed.
    private var handle: UnsafeMutablePointer<DB_ENV>?
    /// Receives Berkeley DB's messages; must outlive `handle` (it is reached through `app_private`).
    private let messages: EnvironmentMessageSink

    /// Databases open in this environment, unretained: each removes itself when it closes or is released.
    private var openDatabases: [ObjectIdentifier: Unmanaged<Database>] = [:]
    /// Transactions begun and not yet resolved, unretained: each removes itself when resolved.
    private var liveTransactions: [ObjectIdentifier: Unmanaged<Transaction>] = [:]
    /// Handles of databases released while transactions were live, closed once none is (a live
    /// transaction may have used them; closing a handle under it could break its commit or abort).
    private var orphanedDatabaseHandles: [UnsafeMutablePointer<DB>] = []
    /// Open cursors, innermost last (cursors are only open inside `withCursor`, which nests).
    /// The storage is kept between cursors so that opening one does not allocate.
    private var openCursors: [OpenCursor] = []

    /// One entry of `openCursors`; `handle` becomes nil when the cursor's transaction closed it.
    private struct OpenCursor {
        var handle: UnsafeMutablePointer<DBC>?
        let transaction: ObjectIdentifier
    }

    /// The logger Berkeley DB's own messages and the wrappers' warnings go to.
    public var logger: Logger { messages.logger }

    /// Whether the environment is open (`close()` has not been called).
    public var isOpen: Bool { handle != nil }

    /// How many transactions are begun and not yet committed or aborted.
    public var liveTransactionCount: Int { liveTransactions.count }

    /// Opens (creating if needed) the environment in `directory` and runs recovery.
    ///
    /// - Parameters:
    ///   - directory: The home directory; created with its parents when missing, if the configuration says so.
    ///   - configuration: Cache, log and lock sizes, commit durability.
    ///   - logger: Where Berkeley DB's own error and informational messages are forwarded.
    /// - Throws: `BerkeleyDBError` when the directory cannot be created or Berkeley DB refuses a
    ///   setting or the open (for example `EACCES`, or `DB_RUNRECOVERY` for unrecoverable logs).
    public init(
        directory: String,
        configuration: EnvironmentConfiguration = EnvironmentConfiguration(),
        logger: Logger = Logger(label: "BerkeleyDB")
    ) throws {
        self.directory = directory
        self.configuration = configuration
        self.messages = EnvironmentMessageSink(logger: logger)
        // Room up front, so that beginning transactions and opening cursors do not allocate here.
        openCursors.reserveCapacity(8)
        liveTransactions.reserveCapacity(8)

        if configuration.createsDirectory {
            try Environment.createDirectory(directory)
        }

        var created: UnsafeMutablePointer<DB_ENV>?
        let createCode = db_env_create(&created, 0)
        guard createCode == 0, let environment = created else {
            throw BerkeleyDBError(code: createCode == 0 ? ENOMEM : createCode, operation: "db_env_create")
        }
        messages.install(on: environment)
        do {
            try Environment.configure(environment, with: configuration, messages: messages)
            var openFlags = UInt32(DB_CREATE | DB_INIT_TXN | DB_INIT_LOCK | DB_INIT_LOG | DB_INIT_MPOOL | DB_RECOVER)
            if configuration.usesPrivateRegions { openFlags |= UInt32(DB_PRIVATE) }
            let code = environment.pointee.open(environment, directory, openFlags, configuration.fileMode)
            try Environment.check(code, messages) { "DB_ENV->open \(directory)" }
        } catch {
            // A DB_ENV whose configuration or open failed must still be closed to be freed.
            _ = environment.pointee.close(environment, 0)
            throw error
        }
        handle = environment
    }

    deinit {
        // Databases and transactions hold strong references, so none is open here; only the
        // environment handle itself can be left.
        guard handle != nil else { return }
        do {
            try close()
        } catch {
            logger.error("closing the Berkeley DB environment in \(directory) on release failed: \(error)")
        }
    }

    // MARK: - Transactions and databases

    /// Begins a transaction. Resolve it with `Transaction.commit(_:)` or `Transaction.abort()`;
    /// one released unresolved is aborted and logged as a programming error.
    ///
    /// Unless the configuration says `transactionsWaitForLocks`, the transaction is begun with
    /// `DB_TXN_NOWAIT`: an operation meeting another transaction's lock fails with `isDeadlock`.
    public func beginTransaction() throws -> Transaction {
        let environment = try requireHandle("DB_ENV->txn_begin")
        var flags: UInt32 = 0
        if !configuration.transactionsWaitForLocks { flags |= UInt32(DB_TXN_NOWAIT) }
        var begun: UnsafeMutablePointer<DB_TXN>?
        let code = environment.pointee.txn_begin(environment, nil, &begun, flags)
        try check(code) { "DB_ENV->txn_begin" }
        guard let begun else { throw BerkeleyDBError(code: EINVAL, operation: "DB_ENV->txn_begin returned no handle") }
        let transaction = Transaction(environment: self, handle: begun)
        liveTransactions[ObjectIdentifier(transaction)] = Unmanaged.passUnretained(transaction)
        return transaction
    }

    /// Runs `body` in a new transaction and commits it when `body` returns, or aborts it when `body`
    /// (or the commit) throws. The error is rethrown; an abort failure is only logged.
    @discardableResult
    public func withTransaction<Result>(
        durability: CommitDurability? = nil,
        _ body: (Transaction) throws -> Result
    ) throws -> Result {
        let transaction = try beginTransaction()
        let result: Result
        do {
            result = try body(transaction)
        } catch {
            if transaction.isActive {
                do { try transaction.abort() } catch let abortError {
                    logger.error("aborting a failed transaction failed too: \(abortError)")
                }
            }
            throw error
        }
        try transaction.commit(durability)
        return result
    }

    /// Opens (by default creating) a database in this environment; see
    /// `Database.init(environment:file:name:configuration:transaction:)`.
    public func openDatabase(
        file: String,
        name: String? = nil,
        configuration: DatabaseConfiguration = DatabaseConfiguration(),
        in transaction: Transaction? = nil
    ) throws -> Database {
        try Database(environment: self, file: file, name: name, configuration: configuration, transaction: transaction)
    }

    // MARK: - Log and checkpoints

    /// Writes and syncs the log up to the last commit (`DB_ENV->log_flush(env, NULL)`): every
    /// transaction committed so far, with or without sync, is durable once this returns.
    public func flushLog() throws {
        let environment = try requireHandle("DB_ENV->log_flush")
        try check(environment.pointee.log_flush(environment, nil)) { "DB_ENV->log_flush" }
    }

    /// Takes a checkpoint (`DB_ENV->txn_checkpoint`): writes dirty cache pages to the database files
    /// so that recovery has less log to replay and older log files become removable.
    ///
    /// - Parameters:
    ///   - minimumKilobytes: Skip the checkpoint unless at least this much log was written since the last one.
    ///   - minimumMinutes: Skip the checkpoint unless at least this many minutes passed since the last one.
    ///   - force: Take it even if nothing was written since the last one (`DB_FORCE`).
    public func checkpoint(minimumKilobytes: UInt32 = 0, minimumMinutes: UInt32 = 0, force: Bool = false) throws {
        let environment = try requireHandle("DB_ENV->txn_checkpoint")
        let code = environment.pointee.txn_checkpoint(
            environment, minimumKilobytes, minimumMinutes, force ? UInt32(DB_FORCE) : 0)
        try check(code) { "DB_ENV->txn_checkpoint" }
    }

    /// Removes the log files no longer needed for recovery (`DB_ENV->log_archive(DB_ARCH_REMOVE)`),
    /// for when automatic removal is off or has not run yet. Checkpoint first: only files older than
    /// the last checkpoint can go.
    public func removeUnusedLogFiles() throws {
        let environment = try requireHandle("DB_ENV->log_archive")
        try check(environment.pointee.log_archive(environment, nil, UInt32(DB_ARCH_REMOVE))) {
            "DB_ENV->log_archive(DB_ARCH_REMOVE)"
        }
    }

    /// The names (relative to `directory`) of log files no longer needed for recovery
    /// (`DB_ENV->log_archive` with no flags). Allocates; not for hot paths.
    public func unusedLogFiles() throws -> [String] {
        let environment = try requireHandle("DB_ENV->log_archive")
        var list: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
        try check(environment.pointee.log_archive(environment, &list, 0)) { "DB_ENV->log_archive" }
        guard let list else { return [] }
        // Berkeley DB returns the array and its strings in one malloc'd block, freed with one free().
        defer { free(list) }
        var names: [String] = []
        var index = 0
        while let name = list[index] {
            names.append(String(cString: name))
            index += 1
        }
        return names
    }

    // MARK: - Closing

    /// Closes the environment: first aborts every live transaction (closing its cursors), then closes
    /// every open database, then the `DB_ENV` handle. Calling it again does nothing.
    ///
    /// Closing with live transactions or open databases is a programming error (transactions are
    /// aborted, which is logged); close databases first. Databases and transactions used after this
    /// throw `BerkeleyDBError` with `isMisuse` instead of reaching Berkeley DB.
    ///
    /// - Throws: The first error met; every handle is closed regardless.
    public func close() throws {
        guard let environment = handle else { return }
        var firstError: (any Error)?

        let transactions = liveTransactions.values.map { $0.takeUnretainedValue() }
        for transaction in transactions {
            logger.error("a transaction was still live when the environment closed; aborting it")
            do { try transaction.abort() } catch { firstError = firstError ?? error }
        }
        liveTransactions.removeAll()
        openCursors.removeAll(keepingCapacity: true)

        do { try closeOrphanedDatabaseHandles() } catch { firstError = firstError ?? error }

        let databases = openDatabases.values.map { $0.takeUnretainedValue() }
        for database in databases {
            logger.warning("database \(database.description) was still open when the environment closed; closing it")
            do { try database.close() } catch { firstError = firstError ?? error }
        }
        openDatabases.removeAll()

        handle = nil
        // After DB_ENV->close the handle is gone whatever it returns; `messages` stays alive until
        // this returns because the environment still holds it.
        let code = environment.pointee.close(environment, 0)
        do { try Environment.check(code, messages) { "DB_ENV->close \(directory)" } } catch {
            firstError = firstError ?? error
        }
        if let firstError { throw firstError }
    }

    // MARK: - For the other wrappers

    /// The open `DB_ENV` handle, or a misuse error naming `operation`.
    func requireHandle(_ operation: @autoclosure () -> String) throws -> UnsafeMutablePointer<DB_ENV> {
        guard let handle else { throw BerkeleyDBError.misuse(operation(), "the environment is closed") }
        return handle
    }

    /// Throws a `BerkeleyDBError` for a nonzero `code`, with what Berkeley DB reported meanwhile.
    /// The operation's name is only built on failure.
    @inline(__always)
    func check(_ code: Int32, _ operation: () -> String) throws {
        if code != 0 { throw error(code, operation()) }
    }

    /// A `BerkeleyDBError` for `code`, carrying the messages Berkeley DB reported since the last one.
    func error(_ code: Int32, _ operation: String) -> BerkeleyDBError {
        BerkeleyDBError(code: code, operation: operation, details: messages.takeDetails())
    }

    /// Forgets what Berkeley DB reported during a call whose failure code was a result
    /// (`DB_NOTFOUND`, `DB_KEYEXIST`), so it cannot be attached to a later, unrelated error.
    @inline(__always)
    func discardMessages() {
        messages.discardDetails()
    }

    private static func check(_ code: Int32, _ messages: EnvironmentMessageSink, _ operation: () -> String) throws {
        if code != 0 {
            throw BerkeleyDBError(code: code, operation: operation(), details: messages.takeDetails())
        }
    }

    func registerDatabase(_ database: Database) {
        openDatabases[ObjectIdentifier(database)] = Unmanaged.passUnretained(database)
    }

    func unregisterDatabase(_ database: Database) {
        openDatabases[ObjectIdentifier(database)] = nil
    }

    /// Closes the handle of a database released without `close()`: now if no transaction is live,
    /// otherwise once the last live transaction is resolved ("the databases accessed by a
    /// transaction must not be closed during the transaction", Berkeley DB reference guide).
    func closeReleasedDatabaseHandle(_ database: UnsafeMutablePointer<DB>, description: String) {
        guard liveTransactions.isEmpty else {
            logger.debug("database \(description) released while transactions are live; closing it after them")
            orphanedDatabaseHandles.append(database)
            return
        }
        let code = database.pointee.close(database, 0)
        if code != 0 {
            logger.error("\(self.error(code, "DB->close \(description) on release"))")
        }
    }

    /// Called by a transaction as it commits or aborts: closes its cursors still open (a cursor must
    /// be closed before its transaction resolves) and forgets it.
    func transactionResolving(_ transaction: Transaction) throws {
        let identifier = ObjectIdentifier(transaction)
        var firstError: BerkeleyDBError?
        for index in openCursors.indices.reversed()
        where openCursors[index].transaction == identifier {
            guard let cursor = openCursors[index].handle else { continue }
            openCursors[index].handle = nil
            logger.error("a cursor was still open when its transaction resolved; closing it first")
            let code = cursor.pointee.close(cursor)
            if code != 0 && firstError == nil { firstError = error(code, "DBC->close before resolving its transaction") }
        }
        liveTransactions[identifier] = nil
        if let firstError { throw firstError }
    }

    /// Called after a transaction resolved: closes the database handles that waited for no
    /// transaction to be live.
    func transactionResolved() {
        guard liveTransactions.isEmpty, !orphanedDatabaseHandles.isEmpty else { return }
        do { try closeOrphanedDatabaseHandles() } catch { logger.error("\(error)") }
    }

    private func closeOrphanedDatabaseHandles() throws {
        var firstError: BerkeleyDBError?
        while let database = orphanedDatabaseHandles.popLast() {
            let code = database.pointee.close(database, 0)
            if code != 0 && firstError == nil { firstError = error(code, "DB->close of a released database") }
        }
        if let firstError { throw firstError }
    }

    /// Records a cursor opened by `transaction`; returns the slot that identifies it.
    func registerCursor(_ cursor: UnsafeMutablePointer<DBC>, of transaction: Transaction) -> Int {
        openCursors.append(OpenCursor(handle: cursor, transaction: ObjectIdentifier(transaction)))
        return openCursors.count - 1
    }

    /// The cursor in `slot` if it is still open (its transaction has not closed it).
    @inline(__always)
    func openCursor(inSlot slot: Int) -> UnsafeMutablePointer<DBC>? {
        slot < openCursors.count ? openCursors[slot].handle : nil
    }

    /// Forgets the cursor in `slot` (the innermost) and returns its handle if it still has to be closed.
    func unregisterCursor(inSlot slot: Int) -> UnsafeMutablePointer<DBC>? {
        guard slot < openCursors.count else { return nil }
        let handle = openCursors[slot].handle
        // Cursors nest, so `slot` is the last entry; removing from the end keeps the storage.
        openCursors.removeSubrange(slot...)
        return handle
    }

    // MARK: - Setup

    private static func configure(
        _ environment: UnsafeMutablePointer<DB_ENV>, with configuration: EnvironmentConfiguration,
        messages: EnvironmentMessageSink
    ) throws {
        func size(_ value: Int, _ name: String) throws -> UInt32 {
            guard let size = UInt32(exactly: value) else {
                throw BerkeleyDBError.misuse("DB_ENV configuration", "\(name) \(value) is out of range")
            }
            return size
        }
        let gigabyte = 1 << 30
        guard configuration.cacheSize >= 0 else {
            throw BerkeleyDBError.misuse("DB_ENV->set_cachesize", "a negative cache size")
        }
        let cacheGigabytes = try size(configuration.cacheSize / gigabyte, "cache size")
        let cacheBytes = try size(configuration.cacheSize % gigabyte, "cache size")
        try check(environment.pointee.set_cachesize(environment, cacheGigabytes, cacheBytes, 1), messages) {
            "DB_ENV->set_cachesize"
        }
        let logBuffer = try size(configuration.logBufferSize, "log buffer size")
        try check(environment.pointee.set_lg_bsize(environment, logBuffer), messages) { "DB_ENV->set_lg_bsize" }
        let logMax = try size(configuration.logFileMaxSize, "log file size")
        try check(environment.pointee.set_lg_max(environment, logMax), messages) { "DB_ENV->set_lg_max" }
        let autoRemove: Int32 = configuration.removesUnneededLogFiles ? 1 : 0
        try check(environment.pointee.log_set_config(environment, UInt32(DB_LOG_AUTO_REMOVE), autoRemove), messages) {
            "DB_ENV->log_set_config(DB_LOG_AUTO_REMOVE)"
        }
        let locks = try size(configuration.maxLocks, "lock count")
        try check(environment.pointee.set_lk_max_locks(environment, locks), messages) { "DB_ENV->set_lk_max_locks" }
        let lockers = try size(configuration.maxLockers, "locker count")
        try check(environment.pointee.set_lk_max_lockers(environment, lockers), messages) {
            "DB_ENV->set_lk_max_lockers"
        }
        let objects = try size(configuration.maxLockObjects, "lock object count")
        try check(environment.pointee.set_lk_max_objects(environment, objects), messages) {
            "DB_ENV->set_lk_max_objects"
        }
        switch configuration.commitDurability {
        case .noSync:
            try check(environment.pointee.set_flags(environment, UInt32(DB_TXN_NOSYNC), 1), messages) {
                "DB_ENV->set_flags(DB_TXN_NOSYNC)"
            }
        case .writeNoSync:
            try check(environment.pointee.set_flags(environment, UInt32(DB_TXN_WRITE_NOSYNC), 1), messages) {
                "DB_ENV->set_flags(DB_TXN_WRITE_NOSYNC)"
            }
        case .sync:
            break
        }
    }

    /// `mkdir -p`: creates `path` and its missing parents, mode 0700.
    static func createDirectory(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            prefix += component
            if mkdir(prefix, 0o700) != 0 {
                let code = errno
                if code != EEXIST { throw BerkeleyDBError(code: code, operation: "mkdir \(prefix)") }
            }
            prefix += "/"
        }
    }
}
