/// An open-addressing hash index from message contents to queue sequence numbers.
///
/// It stores only a 4-byte sequence and a 1-byte tag per entry (a `Dictionary` keyed by message
/// would cost several times that); the message bytes and full hash live in the queue's slots and
/// are reached through the closures the caller passes. Linear probing with backward-shift
/// deletion keeps probe chains short without tombstones.
struct MessageIndex: ~Copyable {
    /// 0 marks an empty position; otherwise `0x80 | hash >> 25`, which rejects most mismatches
    /// without touching the message.
    private var tags: UnsafeMutablePointer<UInt8>
    private var sequences: UnsafeMutablePointer<UInt32>
    private var mask: Int
    private(set) var count = 0

    private static let minimumCapacity = 8

    init(expectedEntries: Int = 0) {
        let capacity = Self.capacity(for: expectedEntries)
        self.mask = capacity - 1
        self.tags = .allocate(capacity: capacity)
        self.tags.initialize(repeating: 0, count: capacity)
        self.sequences = .allocate(capacity: capacity)
    }

    deinit {
        self.tags.deallocate()
        self.sequences.deallocate()
    }

    /// A power of two that keeps `entries` under a 3/4 load.
    private static func capacity(for entries: Int) -> Int {
        var capacity = minimumCapacity
        while capacity * 3 / 4 < entries {
            capacity *= 2
        }
        return capacity
    }

    var capacity: Int { self.mask + 1 }

    /// Bytes allocated, for memory accounting.
    var allocatedBytes: Int { self.capacity * (MemoryLayout<UInt8>.stride + MemoryLayout<UInt32>.stride) }

    @inline(__always)
    private static func tag(_ hash: UInt32) -> UInt8 {
        0x80 | UInt8(truncatingIfNeeded: hash >> 25)
    }

    /// The position of an entry with `hash` for which `matches` holds, if any.
    @inline(__always)
    func find(hash: UInt32, where matches: (UInt32) -> Bool) -> Int? {
        let tag = Self.tag(hash)
        var position = Int(hash) & self.mask
        while true {
            let found = self.tags[position]
            if found == 0 {
                return nil
            }
            if found == tag && matches(self.sequences[position]) {
                return position
            }
            position = (position + 1) & self.mask
        }
    }

    func sequence(at position: Int) -> UInt32 {
        self.sequences[position]
    }

    /// Points the entry at `position` at another sequence of the same content (same hash).
    mutating func replaceSequence(at position: Int, with sequence: UInt32) {
        self.sequences[position] = sequence
    }

    /// Adds an entry; `hashOf` gives the hash of any sequence already indexed (for growing).
    mutating func insert(sequence: UInt32, hash: UInt32, hashOf: (UInt32) -> UInt32) {
        if (self.count + 1) > self.capacity * 3 / 4 {
            self.resize(to: self.capacity * 2, hashOf: hashOf)
        }
        self.place(sequence: sequence, hash: hash)
        self.count += 1
    }

    @inline(__always)
    private mutating func place(sequence: UInt32, hash: UInt32) {
        var position = Int(hash) & self.mask
        while self.tags[position] != 0 {
            position = (position + 1) & self.mask
        }
        self.tags[position] = Self.tag(hash)
        self.sequences[position] = sequence
    }

    /// Removes the entry at `position` (from ``find(hash:where:)``), shifting later entries of the
    /// probe chain back so that lookups never need tombstones.
    mutating func remove(at position: Int, hashOf: (UInt32) -> UInt32) {
        var hole = position
        var next = (hole + 1) & self.mask
        while self.tags[next] != 0 {
            let home = Int(hashOf(self.sequences[next])) & self.mask
            // Move the entry into the hole unless its home lies cyclically in (hole, next].
            if (next &- home) & self.mask >= (next &- hole) & self.mask {
                self.tags[hole] = self.tags[next]
                self.sequences[hole] = self.sequences[next]
                hole = next
            }
            next = (next + 1) & self.mask
        }
        self.tags[hole] = 0
        self.count -= 1
        if self.capacity > Self.minimumCapacity * 8 && self.count < self.capacity / 16 {
            self.resize(to: Self.capacity(for: self.count * 2), hashOf: hashOf)
        }
    }

    /// Replaces the contents with `entries`, sized for `count` of them.
    mutating func rebuild<Entries: Sequence>(count: Int, _ entries: Entries)
    where Entries.Element == (sequence: UInt32, hash: UInt32) {
        var rebuilt = MessageIndex(expectedEntries: count)
        for entry in entries {
            rebuilt.insert(sequence: entry.sequence, hash: entry.hash, hashOf: { _ in
                preconditionFailure("sized for every entry, it never grows")
            })
        }
        self = rebuilt
    }

    private mutating func resize(to newCapacity: Int, hashOf: (UInt32) -> UInt32) {
        let oldTags = self.tags
        let oldSequences = self.sequences
        let oldCapacity = self.capacity
        self.mask = newCapacity - 1
        self.tags = .allocate(capacity: newCapacity)
        self.tags.initialize(repeating: 0, count: newCapacity)
        self.sequences = .allocate(capacity: newCapacity)
        for position in 0..<oldCapacity where oldTags[position] != 0 {
            let sequence = oldSequences[position]
            self.place(sequence: sequence, hash: hashOf(sequence))
        }
        oldTags.deallocate()
        oldSequences.deallocate()
    }
}
