import NIOCore

/// One memcached text-protocol request, as decoded by ``MemcacheRequestDecoder``.
///
/// Keys, data and words are `ByteBuffer` slices of the received bytes; numbers are already read.
/// A server switches over it and writes its reply with the `ByteBuffer.writeMemcache…` methods.
public enum MemcacheRequest: Sendable, Hashable {
    /// `get`, `gets`, `gat`, `gats`.
    case retrieval(MemcacheRetrievalRequest)
    /// `set`, `add`, `replace`, `append`, `prepend`, `cas`, with the data block.
    case storage(MemcacheStorageRequest)
    /// `delete <key> [0] [noreply]`.
    case delete(key: ByteBuffer, noreply: Bool)
    /// `incr <key> <delta> [noreply]`.
    case increment(key: ByteBuffer, delta: UInt64, noreply: Bool)
    /// `decr <key> <delta> [noreply]`.
    case decrement(key: ByteBuffer, delta: UInt64, noreply: Bool)
    /// `touch <key> <exptime> [noreply]`.
    case touch(key: ByteBuffer, exptime: Int64, noreply: Bool)
    /// `flush_all [delay] [noreply]`; `delay` is `nil` when absent (memcached treats 0 and
    /// negative delays as "now" too).
    case flushAll(delay: Int64?, noreply: Bool)
    /// `stats [arguments]`: `stats`, `stats settings`, `stats queue`, `stats detail on`...
    /// The arguments are handed over unread; an empty sequence means plain `stats`.
    case stats(arguments: MemcacheTokens)
    /// `version` (memcached ignores any arguments).
    case version
    /// `verbosity <level> [noreply]`.
    case verbosity(level: UInt32, noreply: Bool)
    /// `quit`: close the connection without a reply. The decoder ignores everything after it.
    case quit
    /// The credentials of an unauthenticated client (only while
    /// ``MemcacheRequestDecoder/requiresAuthentication`` is set): answer `STORED` if they match,
    /// else ``MemcacheReply/authenticationFailure``.
    case authenticate(user: ByteBuffer, password: ByteBuffer)
    /// A request memcached would reject, with its reply; see ``MemcacheRequestError``.
    case error(MemcacheRequestError)
}
