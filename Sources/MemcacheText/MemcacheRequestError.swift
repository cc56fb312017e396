import NIOCore

/// A request the decoder already knows to be wrong, with the reply memcached 1.6 gives for it.
///
/// Write it with ``NIOCore/ByteBuffer/writeMemcacheError(_:)``, which honours `noreply` as memcached
/// does: memcached suppresses even its error replies when the line ended in `noreply`.
/// When ``closesConnection`` is true memcached closes the connection at once, without a reply — and
/// without writing the replies still pending for the commands before it in the same read — and the
/// decoder discards everything the client sends after it.
public struct MemcacheRequestError: Error, Sendable, Hashable {
    /// What was wrong.
    public enum Reason: Sendable, Hashable {
        /// Unknown command, wrong number of tokens, empty line: `ERROR`.
        case unknownCommand
        /// Key too long or with control characters, unreadable flags/exptime/length/cas unique,
        /// negative length, bad verbosity level: `CLIENT_ERROR bad command line format`.
        case badCommandLineFormat
        /// `delete <key> <anything but 0 or noreply>`:
        /// `CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]`.
        case badDeleteCommandLine
        /// Unreadable exptime of `touch`, `gat`, `gats`, `flush_all`: `CLIENT_ERROR invalid exptime argument`.
        case invalidExptime
        /// Unreadable or negative incr/decr delta: `CLIENT_ERROR invalid numeric delta argument`.
        case invalidNumericDelta
        /// The data block does not end with `\r\n` where its length says: `CLIENT_ERROR bad data chunk`.
        /// Nothing is stored; the announced length plus two bytes were consumed, and what follows is
        /// read as the next command.
        case badDataChunk
        /// The announced length is over the decoder's maximum value length:
        /// `SERVER_ERROR object too large for cache`. Yielded, as memcached answers, only after the
        /// data block (length + 2 bytes, whatever they hold) has been skipped without buffering.
        case objectTooLarge
        /// A line longer than 2048 bytes (or, for `get`/`gets`, than the retrieval line limit):
        /// memcached closes the connection without a word.
        case lineTooLong
        /// Before authentication (`--auth-file`), anything but a `set` line with a readable length:
        /// `CLIENT_ERROR unauthenticated`.
        case unauthenticated
        /// Before authentication, a credentials block not ending in `\r\n`:
        /// `CLIENT_ERROR bad command line termination`.
        case badCommandLineTermination
        /// Before authentication, a credentials block without two words:
        /// `CLIENT_ERROR bad authentication token format`.
        case badAuthenticationTokenFormat
        /// An unknown command whose last token starts with `HTTP/` (a browser or HTTP probe):
        /// memcached closes the connection without a word.
        case httpRequest
    }

    public var reason: Reason
    /// Whether the line ended in `noreply`, which suppresses the reply.
    public var noreply: Bool
    /// For ``Reason/objectTooLarge``: the storage command and key that were refused. memcached
    /// drops the old value of a key whose `set` was too large, so a cache can do the same.
    public var rejectedStorage: (command: MemcacheStorageCommand, key: ByteBuffer)? {
        get { self.rejectedKey.map { (self.rejectedCommand!, $0) } }
        set {
            self.rejectedCommand = newValue?.command
            self.rejectedKey = newValue?.key
        }
    }
    private var rejectedCommand: MemcacheStorageCommand?
    private var rejectedKey: ByteBuffer?

    public init(_ reason: Reason, noreply: Bool = false) {
        self.reason = reason
        self.noreply = noreply
    }

    /// memcached's exact reply, `\r\n` included; empty when memcached closes silently.
    /// It is not sent when ``noreply`` is set.
    @inlinable
    public var reply: StaticString {
        switch self.reason {
        case .unknownCommand: "ERROR\r\n"
        case .badCommandLineFormat: "CLIENT_ERROR bad command line format\r\n"
        case .badDeleteCommandLine: "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n"
        case .invalidExptime: "CLIENT_ERROR invalid exptime argument\r\n"
        case .invalidNumericDelta: "CLIENT_ERROR invalid numeric delta argument\r\n"
        case .badDataChunk: "CLIENT_ERROR bad data chunk\r\n"
        case .objectTooLarge: "SERVER_ERROR object too large for cache\r\n"
        case .unauthenticated: "CLIENT_ERROR unauthenticated\r\n"
        case .badCommandLineTermination: "CLIENT_ERROR bad command line termination\r\n"
        case .badAuthenticationTokenFormat: "CLIENT_ERROR bad authentication token format\r\n"
        case .lineTooLong, .httpRequest: ""
        }
    }

    /// Whether the connection must be closed (after writing what is pending).
    @inlinable
    public var closesConnection: Bool {
        switch self.reason {
        case .lineTooLong, .httpRequest: true
        default: false
        }
    }
}
