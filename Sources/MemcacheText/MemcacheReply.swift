/// memcached's fixed one-line replies, byte for byte.
public enum MemcacheReply: Sendable, Hashable {
    /// `STORED`
    case stored
    /// `NOT_STORED`
    case notStored
    /// `EXISTS` (cas: the item changed since it was fetched)
    case exists
    /// `NOT_FOUND`
    case notFound
    /// `DELETED`
    case deleted
    /// `TOUCHED`
    case touched
    /// `OK` (flush_all, verbosity)
    case ok
    /// `END` (closes every retrieval reply and every stats listing)
    case end
    /// `ERROR`
    case error
    /// `RESET` (`stats reset`)
    case reset
    /// `SERVER_ERROR object too large for cache`
    case objectTooLarge
    /// `SERVER_ERROR out of memory storing object`
    case outOfMemoryStoringObject
    /// `SERVER_ERROR out of memory` (incr/decr could not allocate the new value)
    case outOfMemory
    /// `CLIENT_ERROR cannot increment or decrement non-numeric value`
    case nonNumericValue
    /// `SERVER_ERROR Too many open connections`, as the SPEC words it for `--max-clients`.
    /// memcached 1.6.18 itself sends `ERROR Too many open connections` before closing.
    case tooManyConnections
    /// `CLIENT_ERROR authentication failure` (`--auth-file`: credentials that do not match)
    case authenticationFailure

    /// The reply line, `\r\n` included.
    @inlinable
    public var line: StaticString {
        switch self {
        case .stored: "STORED\r\n"
        case .notStored: "NOT_STORED\r\n"
        case .exists: "EXISTS\r\n"
        case .notFound: "NOT_FOUND\r\n"
        case .deleted: "DELETED\r\n"
        case .touched: "TOUCHED\r\n"
        case .ok: "OK\r\n"
        case .end: "END\r\n"
        case .error: "ERROR\r\n"
        case .reset: "RESET\r\n"
        case .objectTooLarge: "SERVER_ERROR object too large for cache\r\n"
        case .outOfMemoryStoringObject: "SERVER_ERROR out of memory storing object\r\n"
        case .outOfMemory: "SERVER_ERROR out of memory\r\n"
        case .nonNumericValue: "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n"
        case .tooManyConnections: "SERVER_ERROR Too many open connections\r\n"
        case .authenticationFailure: "CLIENT_ERROR authentication failure\r\n"
        }
    }
}
