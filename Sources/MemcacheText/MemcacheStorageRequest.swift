import NIOCore

/// `set`/`add`/`replace`/`append`/`prepend`/`cas <key> <flags> <exptime> <bytes> [<cas unique>] [noreply]`
/// with its data block.
///
/// `key` and `data` are slices of the received bytes: copy them out before storing them, or the
/// stored slice pins the whole receive buffer.
public struct MemcacheStorageRequest: Sendable, Hashable {
    public var command: MemcacheStorageCommand
    /// The key (checked against ``MemcacheKeyRules``).
    public var key: ByteBuffer
    /// The client flags. memcached keeps the low 32 bits of whatever 64-bit number was sent.
    public var flags: UInt32
    /// The exptime as memcached reads it (a 32-bit signed value): relative seconds up to 30 days,
    /// else a Unix time; negative means already expired. Interpreting it is the server's job.
    public var exptime: Int64
    /// The data block, without its trailing `\r\n`.
    public var data: ByteBuffer
    /// The CAS unique of a `cas` command; 0 for the others.
    public var casUnique: UInt64
    /// Whether the client asked for no reply.
    public var noreply: Bool

    public init(
        command: MemcacheStorageCommand,
        key: ByteBuffer,
        flags: UInt32,
        exptime: Int64,
        data: ByteBuffer,
        casUnique: UInt64 = 0,
        noreply: Bool = false
    ) {
        self.command = command
        self.key = key
        self.flags = flags
        self.exptime = exptime
        self.data = data
        self.casUnique = casUnique
        self.noreply = noreply
    }
}
