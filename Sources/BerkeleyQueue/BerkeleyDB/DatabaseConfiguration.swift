import CBerkeleyDB

/// How a `Database` is opened: access method, duplicates, page size, whether to create it.
public struct DatabaseConfiguration: Sendable, Hashable {
    /// Berkeley DB's access methods the queue uses.
    public enum AccessMethod: Sendable, Hashable {
        /// `DB_BTREE`: keys kept in order, compared bytewise (so big-endian integers sort
        /// numerically); cursors walk in key order and can seek to the first key at or after a prefix.
        case btree
        /// `DB_HASH`: unordered; point lookups without the B-Tree's interior pages.
        case hash

        var type: DBTYPE {
            switch self {
            case .btree: DB_BTREE
            case .hash: DB_HASH
            }
        }
    }

    /// The access method; fixed when the database is created.
    public var accessMethod: AccessMethod

    /// Whether a key may hold several values, kept sorted bytewise (`DB_DUP | DB_DUPSORT`); each
    /// key/value pair is then unique. Fixed when the database is created.
    public var allowsSortedDuplicates: Bool

    /// The page size in bytes (a power of two from 512 to 65536), or nil for Berkeley DB's choice
    /// (the file system's block size). Values bigger than a quarter page go to overflow pages.
    /// Ignored when the database exists; all databases in one file share the file's page size.
    public var pageSize: Int?

    /// Whether a missing database is created (`DB_CREATE`); when false, opening a missing one throws
    /// `ENOENT`.
    public var createsIfMissing: Bool

    /// A configuration; the defaults are a B-Tree without duplicates, created if missing.
    public init(
        accessMethod: AccessMethod = .btree,
        allowsSortedDuplicates: Bool = false,
        pageSize: Int? = nil,
        createsIfMissing: Bool = true
    ) {
        self.accessMethod = accessMethod
        self.allowsSortedDuplicates = allowsSortedDuplicates
        self.pageSize = pageSize
        self.createsIfMissing = createsIfMissing
    }
}
