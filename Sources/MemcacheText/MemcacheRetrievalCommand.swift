/// The retrieval commands.
public enum MemcacheRetrievalCommand: Sendable, Hashable {
    /// `get <key>*` (also memcached's undocumented `bget`).
    case get
    /// `gets <key>*`: values with their CAS unique.
    case gets
    /// `gat <exptime> <key>*`: get and touch.
    case gat
    /// `gats <exptime> <key>*`: get and touch, with CAS uniques.
    case gats

    /// Whether the `VALUE` lines carry the CAS unique.
    @inlinable
    public var returnsCAS: Bool {
        self == .gets || self == .gats
    }

    /// Whether the hits get a new exptime.
    @inlinable
    public var touches: Bool {
        self == .gat || self == .gats
    }
}
