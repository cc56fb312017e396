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
    /// Sequences no message holds or will ever hold again, grown by pops from the head. Those pops
    /// leave their index entries behind for the sweep (a random index page per pop was half the
    /// cost of a pop from a deep queue); readers of the index already skip entries whose message
    /// is gone, and this range tells the sweep and the next push of the same message which
    /// entries are stale without looking their messages up.
    var poppedSequences: ClosedRange<UInt64>?

    var count: Int { self.added - self.removed }

    /// Records written before `poppedSequences` existed are 40 bytes long.
    static let encodedSize = 56
    private static let encodedSizeWithoutPopped = 40

    init(id: UInt64) {
        self.id = id
    }

    init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count == Self.encodedSize || bytes.count == Self.encodedSizeWithoutPopped else { return nil }
        self.id = StorageKeys.integer(bytes, at: 0)
        self.nextTailSequence = StorageKeys.integer(bytes, at: 8)
        self.nextHeadSequence = StorageKeys.integer(bytes, at: 16)
        self.added = Int(truncatingIfNeeded: StorageKeys.integer(bytes, at: 24))
        self.removed = Int(truncatingIfNeeded: StorageKeys.integer(bytes, at: 32))
        if bytes.count == Self.encodedSize {
            let lower = StorageKeys.integer(bytes, at: 40)
            let upper = StorageKeys.integer(bytes, at: 48)
            self.poppedSequences = lower <= upper ? lower...upper : nil
        }
    }

    @discardableResult
    func withEncoded<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        // No popped range is written as an empty one: lower bound above upper.
        let (lower, upper) = self.poppedSequences.map { ($0.lowerBound, $0.upperBound) } ?? (1, 0)
        var fields = (
            self.id.bigEndian, self.nextTailSequence.bigEndian, self.nextHeadSequence.bigEndian,
            UInt64(truncatingIfNeeded: self.added).bigEndian, UInt64(truncatingIfNeeded: self.removed).bigEndian,
            lower.bigEndian, upper.bigEndian
        )
        return try withUnsafeBytes(of: &fields) { try body($0) }
    }

    /// Notes that `sequence`, the queue's first message, was popped and its index entry left
    /// behind; false when it cannot be (its entry must then be deleted now).
    ///
    /// The range can reach up to `sequence` because nothing between its end and the queue's first
    /// message is queued, and later pushes take sequences beyond both ends of all those assigned.
    /// A message pushed to the head after earlier pops sits below the range and is popped the
    /// usual way.
    mutating func notePoppedFromHead(_ sequence: UInt64) -> Bool {
        guard let popped = self.poppedSequences else {
            self.poppedSequences = sequence...sequence
            return true
        }
        guard sequence > popped.upperBound else { return false }
        self.poppedSequences = popped.lowerBound...sequence
        return true
    }
}
