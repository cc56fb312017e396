import CBerkeleyDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One Berkeley DB database (a B-Tree or a Hash, optionally with sorted duplicates) in an
/// `Environment`: the owner of its `DB` handle.
///
/// Several databases can share one file as named subdatabases (`file: "queues.db", name:
/// "messages"`), which keeps the number of open files constant however many queues there are.
///
/// Every record operation takes the transaction explicitly. Not found (`DB_NOTFOUND`) and already
/// there (`DB_KEYEXIST`) are results (`nil`, `false`), never errors.
///
/// ## Memory
/// Reads hand the stored bytes to a closure without copying them: the buffer is Berkeley DB's
/// per-handle return buffer (default `DBT` flags), valid only inside the closure, because the next
/// call on this database reuses it. Copy what must outlive the closure. Keys and values are lent to
/// Berkeley DB through `DatabaseBytes` for the duration of the call, in `DBT`s on the stack, so
/// no operation allocates in Swift.
///
/// ## Threading and lifetime
/// Used only from the thread that owns the environment. Close databases after every transaction
/// has resolved: `close()` refuses while a transaction is live (one may have used this database,
/// and closing the handle under it would break its commit or abort). A database released without
/// `close()` is closed then, or, if transactions are live, as soon as the last one resolves.
/// `Environment.close()` closes the databases still open.
public final class Database: CustomStringConvertible {
    /// What `put` does when the key, or the key/value pair, is already there.
    public enum PutMode: Sendable, Hashable {
        /// Replace the value (without duplicates), or add the value as one more duplicate (with
        /// sorted duplicates; an identical pair is not stored twice).
        case overwrite
        /// Store only if the key is absent (`DB_NOOVERWRITE`); otherwise `put` returns false.
        case noOverwrite
        /// Sorted duplicates only: store only if this exact key/value pair is absent
        /// (`DB_NODUPDATA`); otherwise `put` returns false.
        case noDuplicateData

        var flag: UInt32 {
            switch self {
            case .overwrite: 0
            case .noOverwrite: UInt32(DB_NOOVERWRITE)
            case .noDuplicateData: UInt32(DB_NODUPDATA)
            }
        }
    }

    /// The environment the database lives in (kept alive by the database).
    public let environment: Environment
    /// The file, relative to the environment's directory.
    public let file: String
    /// The subdatabase name within `file`, or nil when the database is the whole file.
    public let name: String?
    /// The configuration the database was opened with.
    public let configuration: DatabaseConfiguration

    /// The `DB` handle; nil once closed (by `close()` or by the environment closing).
    private var handle: UnsafeMutablePointer<DB>?

    /// `file` or `file/name`, for messages.
    public var description: String { name.map { "\(file)/\($0)" } ?? file }

    /// Whether the database is open.
    public var isOpen: Bool { handle != nil }

    /// Opens a database, creating it (and its file) when missing unless the configuration says not to.
    ///
    /// - Parameters:
    ///   - environment: The open environment to open the database in.
    ///   - file: The file name, relative to the environment's directory. Never derive it from user input.
    ///   - name: A subdatabase name within `file`, or nil for a database that is the whole file.
    ///   - configuration: Access method, sorted duplicates, page size, whether to create.
    ///   - transaction: The transaction to open (and possibly create) the database in, or nil to
    ///     open it in a transaction of its own, committed before this returns (like
    ///     `DB_AUTO_COMMIT`, but begun with `DB_TXN_NOWAIT` like every transaction here). If the
    ///     given transaction aborts, the creation is undone and the handle is unusable: close it.
    /// - Throws: `BerkeleyDBError`, for example `ENOENT` for a missing database when the
    ///   configuration does not create it, or `EINVAL` for a type that does not match the file.
    public init(
        environment: Environment,
        file: String,
        name: String? = nil,
        configuration: DatabaseConfiguration = DatabaseConfiguration(),
        transaction: Transaction? = nil
    ) throws {
        self.environment = environment
        self.file = file
        self.name = name
        self.configuration = configuration
        let description = name.map { "\(file)/\($0)" } ?? file

        let environmentHandle = try environment.requireHandle("db_create")
        let openFlags: UInt32 = configuration.createsIfMissing ? UInt32(DB_CREATE) : 0
        // Without a caller's transaction, open in one of our own rather than with DB_AUTO_COMMIT:
        // ours is begun with DB_TXN_NOWAIT (by default), so meeting a live transaction's lock fails
        // instead of blocking the only database thread forever.
        let ownTransaction = transaction == nil ? try environment.beginTransaction() : nil
        guard let openingTransaction = transaction ?? ownTransaction else {
            throw BerkeleyDBError.misuse("DB->open \(description)", "no transaction to open in")
        }
        let transactionHandle = try openingTransaction.requireHandle(in: environment, "DB->open \(description)")

        var created: UnsafeMutablePointer<DB>?
        let createCode = db_create(&created, environmentHandle, 0)
        guard createCode == 0, let database = created else {
            if let ownTransaction { try? ownTransaction.abort() }
            throw environment.error(createCode == 0 ? ENOMEM : createCode, "db_create \(description)")
        }
        do {
            if configuration.allowsSortedDuplicates {
                let code = database.pointee.set_flags(database, UInt32(DB_DUP | DB_DUPSORT))
                try environment.check(code) { "DB->set_flags(DB_DUP | DB_DUPSORT) \(description)" }
            }
            if let pageSize = configuration.pageSize {
                guard let size = UInt32(exactly: pageSize) else {
                    throw BerkeleyDBError.misuse("DB->set_pagesize \(description)", "page size \(pageSize)")
                }
                try environment.check(database.pointee.set_pagesize(database, size)) {
                    "DB->set_pagesize(\(pageSize)) \(description)"
                }
            }
            let code = database.pointee.open(
                database, transactionHandle, file, name, configuration.accessMethod.type, openFlags,
                environment.configuration.fileMode)
            try environment.check(code) { "DB->open \(description)" }
            // A failed commit aborts the open too, leaving the handle unusable: it is closed below.
            try ownTransaction?.commit()
        } catch {
            // Abort before closing: the handle was opened in the transaction. A DB whose open
            // failed must still be closed to be freed.
            if let ownTransaction, ownTransaction.isActive { try? ownTransaction.abort() }
            _ = database.pointee.close(database, 0)
            throw error
        }
        handle = database
        environment.registerDatabase(self)
    }

    deinit {
        guard let handle else { return }
        environment.unregisterDatabase(self)
        environment.closeReleasedDatabaseHandle(handle, description: description)
    }

    /// Closes the database (`DB->close`), writing its dirty pages. Calling it again does nothing.
    ///
    /// - Throws: `BerkeleyDBError` with `isMisuse` while a transaction is live (resolve every
    ///   transaction first), or Berkeley DB's error; the handle is gone after Berkeley DB's close
    ///   whatever it returns.
    public func close() throws {
        guard let database = handle else { return }
        guard environment.liveTransactionCount == 0 else {
            throw BerkeleyDBError.misuse(
                "DB->close \(description)", "\(environment.liveTransactionCount) transaction(s) still live")
        }
        handle = nil
        environment.unregisterDatabase(self)
        try environment.check(database.pointee.close(database, 0)) { "DB->close \(description)" }
    }

    // MARK: - Reading

    /// Looks up `key` and lends its value to `body` without copying.
    ///
    /// With sorted duplicates, the value is the key's first (smallest) one.
    ///
    /// - Parameter body: Gets the stored value, valid only during the call (the database's return
    ///   buffer is reused by the next call on this database).
    /// - Returns: What `body` returned, or nil when the key is absent.
    @inlinable
    public func withValue<Result>(
        forKey key: some DatabaseBytes,
        in transaction: Transaction,
        _ body: (UnsafeRawBufferPointer) throws -> Result
    ) throws -> Result? {
        var result: Result?
        try key.withDatabaseBytes { key in
            try readValue(forKey: key, in: transaction) { value in result = try body(value) }
        }
        return result
    }

    /// A copy of the value stored for `key`, or nil when absent. Allocates; `withValue` does not.
    public func value(forKey key: some DatabaseBytes, in transaction: Transaction) throws -> [UInt8]? {
        try withValue(forKey: key, in: transaction) { Array($0) }
    }

    /// Whether `key` is present (`DB->exists`), without reading its value.
    @inlinable
    public func containsKey(_ key: some DatabaseBytes, in transaction: Transaction) throws -> Bool {
        try key.withDatabaseBytes { key in try keyExists(key, in: transaction) }
    }

    /// Whether this exact key/value pair is present (`DB->get` with `DB_GET_BOTH`); meant for sorted
    /// duplicates, works for any database.
    @inlinable
    public func containsPair(key: some DatabaseBytes, value: some DatabaseBytes, in transaction: Transaction) throws -> Bool {
        try key.withDatabaseBytes { key in
            try value.withDatabaseBytes { value in try pairExists(key: key, value: value, in: transaction) }
        }
    }

    // MARK: - Writing

    /// Stores `value` under `key` (`DB->put`).
    ///
    /// - Parameter mode: What to do when the key (or, with sorted duplicates, the pair) exists.
    /// - Returns: True when stored; false when Berkeley DB reported `DB_KEYEXIST` (the key exists
    ///   under `.noOverwrite`, the pair exists under `.noDuplicateData` or, with sorted duplicates,
    ///   under `.overwrite`).
    @inlinable
    @discardableResult
    public func put(
        _ value: some DatabaseBytes,
        forKey key: some DatabaseBytes,
        in transaction: Transaction,
        mode: PutMode = .overwrite
    ) throws -> Bool {
        try key.withDatabaseBytes { key in
            try value.withDatabaseBytes { value in try putBytes(value, forKey: key, in: transaction, mode: mode) }
        }
    }

    /// Deletes `key` and, with sorted duplicates, all of its values (`DB->del`).
    ///
    /// - Returns: False when the key was absent.
    @inlinable
    @discardableResult
    public func delete(forKey key: some DatabaseBytes, in transaction: Transaction) throws -> Bool {
        try key.withDatabaseBytes { key in try deleteBytes(forKey: key, in: transaction) }
    }

    /// Deletes one exact key/value pair, leaving the key's other duplicates (a cursor positioned with
    /// `DB_GET_BOTH`, then `DBC->del`).
    ///
    /// - Returns: False when the pair was absent.
    @inlinable
    @discardableResult
    public func delete(value: some DatabaseBytes, forKey key: some DatabaseBytes, in transaction: Transaction) throws -> Bool {
        try key.withDatabaseBytes { key in
            try value.withDatabaseBytes { value in try deletePair(key: key, value: value, in: transaction) }
        }
    }

    /// Deletes every record (`DB->truncate`); no cursor may be open on the database.
    ///
    /// - Returns: How many records were deleted.
    @discardableResult
    public func truncate(in transaction: Transaction) throws -> Int {
        let (database, transactionHandle) = try handles(for: transaction, "DB->truncate")
        var count: UInt32 = 0
        try environment.check(database.pointee.truncate(database, transactionHandle, &count, 0)) {
            "DB->truncate \(description)"
        }
        return Int(count)
    }

    // MARK: - Non-generic cores (the generic entry points above only lend bytes)

    @usableFromInline
    func readValue(
        forKey key: UnsafeRawBufferPointer, in transaction: Transaction, _ body: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        let (database, transactionHandle) = try handles(for: transaction, "DB->get")
        var keyEntry = try DBT.input(key, for: "DB->get")
        var valueEntry = DBT()
        let code = database.pointee.get(database, transactionHandle, &keyEntry, &valueEntry, 0)
        if code == DB_NOTFOUND { return }
        try environment.check(code) { "DB->get \(description)" }
        try body(valueEntry.bytes)
    }

    @usableFromInline
    func keyExists(_ key: UnsafeRawBufferPointer, in transaction: Transaction) throws -> Bool {
        let (database, transactionHandle) = try handles(for: transaction, "DB->exists")
        var keyEntry = try DBT.input(key, for: "DB->exists")
        let code = database.pointee.exists(database, transactionHandle, &keyEntry, 0)
        if code == DB_NOTFOUND { return false }
        try environment.check(code) { "DB->exists \(description)" }
        return true
    }

    @usableFromInline
    func pairExists(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, in transaction: Transaction) throws -> Bool {
        let (database, transactionHandle) = try handles(for: transaction, "DB->get(DB_GET_BOTH)")
        var keyEntry = try DBT.input(key, for: "DB->get(DB_GET_BOTH)")
        var valueEntry = try DBT.input(value, for: "DB->get(DB_GET_BOTH)")
        let code = database.pointee.get(database, transactionHandle, &keyEntry, &valueEntry, UInt32(DB_GET_BOTH))
        if code == DB_NOTFOUND { return false }
        try environment.check(code) { "DB->get(DB_GET_BOTH) \(description)" }
        return true
    }

    @usableFromInline
    func putBytes(
        _ value: UnsafeRawBufferPointer, forKey key: UnsafeRawBufferPointer, in transaction: Transaction, mode: PutMode
    ) throws -> Bool {
        let (database, transactionHandle) = try handles(for: transaction, "DB->put")
        var keyEntry = try DBT.input(key, for: "DB->put")
        var valueEntry = try DBT.input(value, for: "DB->put")
        // With sorted duplicates, a plain put of an existing pair returns DB_KEYEXIST too, but also
        // reports "Duplicate data items are not supported with sorted data" through the error
        // callback; DB_NODUPDATA means the same there and reports nothing.
        let flag = mode == .overwrite && configuration.allowsSortedDuplicates ? UInt32(DB_NODUPDATA) : mode.flag
        let code = database.pointee.put(database, transactionHandle, &keyEntry, &valueEntry, flag)
        if code == DB_KEYEXIST {
            environment.discardMessages()
            return false
        }
        try environment.check(code) { "DB->put \(description)" }
        return true
    }

    @usableFromInline
    func deleteBytes(forKey key: UnsafeRawBufferPointer, in transaction: Transaction) throws -> Bool {
        let (database, transactionHandle) = try handles(for: transaction, "DB->del")
        var keyEntry = try DBT.input(key, for: "DB->del")
        let code = database.pointee.del(database, transactionHandle, &keyEntry, 0)
        if code == DB_NOTFOUND { return false }
        try environment.check(code) { "DB->del \(description)" }
        return true
    }

    @usableFromInline
    func deletePair(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, in transaction: Transaction) throws -> Bool {
        let (database, transactionHandle) = try handles(for: transaction, "DBC->del")
        var keyEntry = try DBT.input(key, for: "DBC->get(DB_GET_BOTH)")
        var valueEntry = try DBT.input(value, for: "DBC->get(DB_GET_BOTH)")
        // A private cursor, opened and closed within this call: no transaction can resolve meanwhile.
        var opened: UnsafeMutablePointer<DBC>?
        try environment.check(database.pointee.cursor(database, transactionHandle, &opened, 0)) {
            "DB->cursor \(description)"
        }
        guard let cursor = opened else { throw environment.error(EINVAL, "DB->cursor \(description) returned no cursor") }
        var code = cursor.pointee.get(cursor, &keyEntry, &valueEntry, UInt32(DB_GET_BOTH))
        var operation = "DBC->get(DB_GET_BOTH)"
        if code == 0 {
            code = cursor.pointee.del(cursor, 0)
            operation = "DBC->del"
        }
        let closeCode = cursor.pointee.close(cursor)
        if code == DB_NOTFOUND || code == DB_KEYEMPTY {
            try environment.check(closeCode) { "DBC->close \(self.description)" }
            return false
        }
        try environment.check(code) { "\(operation) \(self.description)" }
        try environment.check(closeCode) { "DBC->close \(self.description)" }
        return true
    }

    // MARK: - For the other wrappers

    /// The open `DB` handle and `transaction`'s `DB_TXN`, or a misuse error: the database is closed,
    /// the transaction resolved, or the transaction belongs to another environment.
    @inline(__always)
    func handles(
        for transaction: Transaction, _ operation: StaticString
    ) throws -> (UnsafeMutablePointer<DB>, UnsafeMutablePointer<DB_TXN>) {
        guard let handle else { throw BerkeleyDBError.misuse("\(operation) \(description)", "the database is closed") }
        return (handle, try transaction.requireHandle(in: environment, "\(operation) \(description)"))
    }
}
