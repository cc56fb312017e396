import CBerkeleyDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A failed Berkeley DB call: the code it returned (a Berkeley DB code such as `DB_LOCK_DEADLOCK`, or
/// an `errno` value such as `ENOSPC`), the operation that failed, and Berkeley DB's own words for it.
///
/// `DB_NOTFOUND` and `DB_KEYEXIST` never become errors: the wrappers report them as results
/// (`nil`, `false`). Misuse of the wrappers themselves (a call on a closed handle, a transaction that
/// is already committed) is reported as `EINVAL` with an operation that says what was wrong.
public struct BerkeleyDBError: Error, CustomStringConvertible, Sendable {
    /// The code returned by Berkeley DB: negative for Berkeley DB's own codes, positive for `errno` values.
    public let code: Int32
    /// The failed operation, named after the C method (`DB->put`, `DB_ENV->open`, …) plus what it was on.
    public let operation: String
    /// `db_strerror(code)`: Berkeley DB's text for the code (the system's text for `errno` values).
    public let message: String
    /// What Berkeley DB itself reported through its error callback while the operation ran, if anything
    /// (for example `BDB0002 __fop_file_setup: Retry limit …` or the name of a missing file).
    public let details: String?

    /// Whether the wrappers refused the call because they were used wrongly (a closed handle, a
    /// finished transaction, a handle from another environment); Berkeley DB was not called.
    /// The code is then `EINVAL`.
    public let isMisuse: Bool

    /// Builds an error for `code`, looking up Berkeley DB's text for it.
    public init(code: Int32, operation: String, details: String? = nil) {
        self.init(code: code, operation: operation, details: details, isMisuse: false)
    }

    private init(code: Int32, operation: String, details: String?, isMisuse: Bool) {
        self.code = code
        self.operation = operation
        self.message = BerkeleyDBError.text(for: code)
        self.details = details
        self.isMisuse = isMisuse
    }

    /// Berkeley DB's text for a code (`db_strerror`), which also covers `errno` values.
    public static func text(for code: Int32) -> String {
        guard let text = db_strerror(code) else { return "unknown error \(code)" }
        return String(cString: text)
    }

    /// `operation failed: message (code N)`, then Berkeley DB's own report when there was one.
    public var description: String {
        var text = "\(operation) failed: \(message) (code \(code))"
        if let details { text += " — \(details)" }
        return text
    }

    /// The disk is full (`ENOSPC`) or a file hit the process's size limit (`EFBIG`, from `ulimit -f`).
    ///
    /// `EFBIG` only arrives if `SIGXFSZ` is ignored; by default the kernel kills the process instead.
    /// Berkeley DB may also turn a failed write into `DB_RUNRECOVERY` (see `needsRecovery`).
    public var isOutOfSpace: Bool { code == ENOSPC || code == EFBIG || code == EDQUOT }

    /// The operation lost a lock conflict: `DB_LOCK_DEADLOCK`, or `DB_LOCK_NOTGRANTED`. Transactions
    /// begin with `DB_TXN_NOWAIT` by default, so a conflict is reported this way at once instead of
    /// blocking the only database thread forever. Abort the transaction; retrying may succeed.
    public var isDeadlock: Bool { code == DB_LOCK_DEADLOCK || code == DB_LOCK_NOTGRANTED }

    /// Berkeley DB panicked (`DB_RUNRECOVERY`): every handle is unusable; close the environment and
    /// open it again (recovery runs at open).
    public var needsRecovery: Bool { code == DB_RUNRECOVERY }

    /// An error for a call the wrappers refused to pass on to Berkeley DB; `why` says what was wrong.
    static func misuse(_ operation: String, _ why: String) -> BerkeleyDBError {
        BerkeleyDBError(code: EINVAL, operation: operation, details: why, isMisuse: true)
    }
}
