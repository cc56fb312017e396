/// What the catalog keeps about one queue, by name. Kept in memory by the database thread and
/// written back once per transaction for each queue the transaction changed.
struct QueueRecord: Sendable, Hashable {
    /// Never reused: a queue deleted and pushed to again gets a new id, so nothing of the old
    /// queue (still being purged) can mix with the new one.
    var id: UInt64
    var nextTailSequence = StorageKeys.firstTailSequence
    var nextHeadSequence = StorageKeys.firstHeadSequence
    /// Messages enqueued since the queue was created (memcached `stats queue`).
    var added = 0
    /// Messages taken out since the queue was created.
    var removed = 0

    var count: Int { self.added - self.removed }

    static let encodedSize = 40

    init(id: UInt64) {
        self.id = id
    }

    init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count == Self.encodedSize else { return nil }
        self.id = StorageKeys.integer(bytes, at: 0)
        self.nextTailSequence = StorageKeys.integer(bytes, at: 8)
        self.nextHeadSequence = StorageKeys.integer(bytes, at: 16)
        self.added = Int(truncatingIfNeeded: StorageKeys.integer(bytes, at: 24))
        self.removed = Int(truncatingIfNeeded: StorageKeys.integer(bytes, at: 32))
    }

    @discardableResult
    func withEncoded<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        var fields = (
            self.id.bigEndian, self.nextTailSequence.bigEndian, self.nextHeadSequence.bigEndian,
            UInt64(truncatingIfNeeded: self.added).bigEndian, UInt64(truncatingIfNeeded: self.removed).bigEndian
        )
        return try withUnsafeBytes(of: &fields) { try body($0) }
    }
}
