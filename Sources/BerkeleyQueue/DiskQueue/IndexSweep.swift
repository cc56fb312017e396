/// One pass of ``DiskQueueStore/sweepIndex(visiting:in:)`` over the whole index, a slice per
/// transaction.
struct IndexSweep: Sendable {
    /// The unswept entries counted when it began: what it clears once it ends.
    let backlog: Int
    /// The last entry the previous slice kept, where the next one resumes.
    var position: (key: [UInt8], value: [UInt8])?
    var visited = 0
    var deleted = 0
    let started = ContinuousClock.now

    init(backlog: Int) {
        self.backlog = backlog
    }
}
