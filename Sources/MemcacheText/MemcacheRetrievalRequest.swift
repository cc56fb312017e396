/// `get`/`gets <key>*` or `gat`/`gats <exptime> <key>*`.
///
/// Every key has been checked against ``MemcacheKeyRules``. The reply is one `VALUE` block per hit,
/// in key order, then `END` (also when `gat`/`gats` name no key at all, as memcached answers).
public struct MemcacheRetrievalRequest: Sendable, Hashable {
    public var command: MemcacheRetrievalCommand
    /// The new exptime of `gat`/`gats` (memcached's 32-bit reading); `nil` for `get`/`gets`.
    public var exptime: Int64?
    /// The keys, iterated as slices without allocation. On queue servers a key may carry
    /// Kestrel-style options (`q/t=500/open`): to this codec they are just key bytes.
    public var keys: MemcacheTokens

    public init(command: MemcacheRetrievalCommand, exptime: Int64? = nil, keys: MemcacheTokens) {
        self.command = command
        self.exptime = exptime
        self.keys = keys
    }
}
