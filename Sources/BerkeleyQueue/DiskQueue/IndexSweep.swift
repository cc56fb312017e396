/// One pass of ``DiskQueueStore/sweepIndex(visiting:in:)`` over the whole index, a slice per
/// transaction, judging entries by what the catalog held when it began.
///
/// That view stays right while the pass goes on: popped ranges only grow, a queue gone stays gone
/// (ids are never reused), and a queue created since has an id at or above `firstNewQueueID`,
/// whose entries the pass leaves alone.
struct IndexSweep: Sendable {
    /// The unswept entries counted when it began: what it clears once it ends.
    let backlog: Int
    /// Each queue's popped range, by queue id.
    private let poppedSequences: [UInt64: ClosedRange<UInt64>?]
    /// Deleted queues still being purged: the purge deletes their entries.
    private let purging: Set<UInt64>
    private let firstNewQueueID: UInt64
    /// The last entry the previous slice kept, where the next one resumes.
    var position: (key: [UInt8], value: [UInt8])?
    var visited = 0
    var deleted = 0
    let started = ContinuousClock.now

    init(backlog: Int, catalog: some Collection<QueueRecord>, purging: [UInt64], nextQueueID: UInt64) {
        self.backlog = backlog
        var popped: [UInt64: ClosedRange<UInt64>?] = [:]
        popped.reserveCapacity(catalog.count)
        for record in catalog {
            popped[record.id] = record.poppedSequences
        }
        self.poppedSequences = popped
        self.purging = Set(purging)
        self.firstNewQueueID = nextQueueID
    }

    /// Whether the index entry of `sequence` in queue `queue` is stale: its message popped, or its
    /// queue emptied or deleted and purged.
    func isStale(queue: UInt64, sequence: UInt64) -> Bool {
        guard queue < self.firstNewQueueID else { return false }
        guard let popped = self.poppedSequences[queue] else { return !self.purging.contains(queue) }
        return popped?.contains(sequence) ?? false
    }
}
