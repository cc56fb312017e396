import CBerkeleyDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A Berkeley DB transaction: the owner of its `DB_TXN` handle. Begin one with
/// `Environment.beginTransaction()`, pass it to every record operation, then `commit(_:)` or
/// `abort()` it; after either, every use throws `BerkeleyDBError` with `isMisuse`.
///
/// A transaction released without commit or abort is aborted and the omission logged as an error:
/// it is a programming error, but one that must not leave locks held.
///
/// ## Cursors
/// Cursors exist only inside `withCursor(on:_:)`, which closes the cursor when the closure returns;
/// `Cursor` is non-copyable and lent to the closure, so it cannot escape it. Since the transaction
/// cannot resolve while the closure runs (short of calling `commit` or `abort` inside it), a cursor
/// is always closed before its transaction commits or aborts. If `commit` or `abort` *is* called
/// inside the closure, the transaction first closes the cursor (logged as an error), and the
/// cursor's later operations throw instead of reaching Berkeley DB.
///
/// ## Threading
/// Used only from the thread that owns the environment: `DB_TXN` handles are not free-threaded.
public final class Transaction {
    /// The environment the transaction belongs to (kept alive by the transaction).
    public let environment: Environment

    /// The `DB_TXN` handle; nil once committed or aborted (Berkeley DB frees it either way).
    private var handle: UnsafeMutablePointer<DB_TXN>?

    init(environment: Environment, handle: UnsafeMutablePointer<DB_TXN>) {
        self.environment = environment
        self.handle = handle
    }

    deinit {
        // The environment is alive (this transaction holds it) and open: closing it would have
        // aborted this transaction first.
        guard handle != nil else { return }
        environment.logger.error("a transaction was released without commit or abort; aborting it (programming error)")
        do {
            try abort()
        } catch {
            environment.logger.error("aborting a released transaction failed: \(error)")
        }
    }

    /// Whether the transaction can still be used: neither committed nor aborted.
    public var isActive: Bool { handle != nil }

    /// Commits (`DB_TXN->commit`). Afterwards the transaction is finished whatever happened: if the
    /// commit fails, Berkeley DB has aborted it.
    ///
    /// - Parameter durability: What the commit waits for; nil (the usual) means the environment's
    ///   `commitDurability`. With `.noSync`, follow a group of commits with `Environment.flushLog()`.
    public func commit(_ durability: CommitDurability? = nil) throws {
        guard let transaction = handle else {
            throw BerkeleyDBError.misuse("DB_TXN->commit", "the transaction is already committed or aborted")
        }
        handle = nil
        var cursorError: (any Error)?
        do { try environment.transactionResolving(self) } catch { cursorError = error }
        let code = transaction.pointee.commit(transaction, durability?.commitFlag ?? 0)
        environment.transactionResolved()
        try environment.check(code) { "DB_TXN->commit" }
        if let cursorError { throw cursorError }
    }

    /// Aborts (`DB_TXN->abort`), undoing everything done in the transaction. Afterwards the
    /// transaction is finished whatever happened.
    public func abort() throws {
        guard let transaction = handle else {
            throw BerkeleyDBError.misuse("DB_TXN->abort", "the transaction is already committed or aborted")
        }
        handle = nil
        var cursorError: (any Error)?
        do { try environment.transactionResolving(self) } catch { cursorError = error }
        let code = transaction.pointee.abort(transaction)
        environment.transactionResolved()
        try environment.check(code) { "DB_TXN->abort" }
        if let cursorError { throw cursorError }
    }

    /// Opens a cursor on `database` in this transaction, lends it to `body`, and closes it when
    /// `body` returns or throws. Cursors may nest (one per database, or several on one).
    ///
    /// - Returns: What `body` returned.
    /// - Throws: What `body` threw, or `BerkeleyDBError` from opening or closing the cursor.
    public func withCursor<Result>(
        on database: Database,
        _ body: (borrowing Cursor) throws -> Result
    ) throws -> Result {
        let (databaseHandle, transactionHandle) = try database.handles(for: self, "DB->cursor")
        var opened: UnsafeMutablePointer<DBC>?
        try environment.check(databaseHandle.pointee.cursor(databaseHandle, transactionHandle, &opened, 0)) {
            "DB->cursor \(database.description)"
        }
        guard let cursorHandle = opened else {
            throw environment.error(EINVAL, "DB->cursor \(database.description) returned no cursor")
        }
        let slot = environment.registerCursor(cursorHandle, of: self)
        let cursor = Cursor(database: database, handle: cursorHandle, slot: slot)
        let result: Result
        do {
            result = try body(cursor)
        } catch {
            do { try closeCursor(inSlot: slot, on: database) } catch let closeError {
                environment.logger.error("closing a cursor after an error failed: \(closeError)")
            }
            throw error
        }
        try closeCursor(inSlot: slot, on: database)
        return result
    }

    // MARK: - For the other wrappers

    /// The `DB_TXN` handle, or a misuse error when the transaction is resolved or belongs to another
    /// environment than `environment`.
    @inline(__always)
    func requireHandle(in environment: Environment, _ operation: @autoclosure () -> String) throws -> UnsafeMutablePointer<DB_TXN> {
        guard let handle else {
            throw BerkeleyDBError.misuse(operation(), "the transaction is already committed or aborted")
        }
        guard environment === self.environment else {
            throw BerkeleyDBError.misuse(operation(), "the transaction belongs to another environment")
        }
        return handle
    }

    /// Closes the cursor in `slot` unless this transaction's resolution already did.
    private func closeCursor(inSlot slot: Int, on database: Database) throws {
        guard let cursor = environment.unregisterCursor(inSlot: slot) else { return }
        try environment.check(cursor.pointee.close(cursor)) { "DBC->close \(database.description)" }
    }
}
