/// The storage commands: each carries a data block after its command line.
public enum MemcacheStorageCommand: Sendable, Hashable {
    /// `set`: store unconditionally (queues: push).
    case set
    /// `add`: store only if the key holds nothing.
    case add
    /// `replace`: store only if the key holds something.
    case replace
    /// `append`: add the data after the existing value.
    case append
    /// `prepend`: add the data before the existing value.
    case prepend
    /// `cas`: store only if the item's CAS unique is still ``MemcacheStorageRequest/casUnique``.
    case cas
}
