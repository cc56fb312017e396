/// An open-addressing hash index from message contents to queue sequence numbers.
///
/// Each entry is 8 bytes, the message's 32-bit hash beside its 4-byte sequence (a `Dictionary`
/// keyed by message would cost several times that); the message bytes live in the queue's slots
/// and are reached through the closure the caller passes. Keeping the hash in the entry means a
/// lookup touches one cache line of the index before the message, and moving entries (deleting,
/// growing) never touches the slots. Linear probing with backward-shift deletion keeps probe
/// chains short without tombstones.
struct MessageIndex: ~Copyable {
    /// 0 marks an empty position; otherwise `Self.key(hash) << 32 | sequence`.
    private var entries: UnsafeMutablePointer<UInt64>
    private var mask: Int
    private(set) var count = 0

    private static let minimumCapacity = 8

    init(expectedEntries: Int = 0) {
        let capacity = Self.capacity(for: expectedEntries)
        self.mask = capacity - 1
        self.entries = .allocate(capacity: capacity)
        self.entries.initialize(repeating: 0, count: capacity)
    }

    deinit {
        self.entries.deallocate()
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
    var allocatedBytes: Int { self.capacity * MemoryLayout<UInt64>.stride }

    /// The hash as stored: its top bit set, so that no entry is 0. Positions come from the low
    /// bits, which it leaves alone.
    @inline(__always)
    private static func key(_ hash: UInt32) -> UInt32 {
        hash | 0x8000_0000
    }

    @inline(__always)
    private static func key(of entry: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: entry >> 32)
    }

    @inline(__always)
    private static func sequence(of entry: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: entry)
    }

    /// The position of an entry with `hash` for which `matches` holds, if any.
    @inline(__always)
    func find(hash: UInt32, where matches: (UInt32) -> Bool) -> Int? {
        let key = Self.key(hash)
        var position = Int(key) & self.mask
        while true {
            let entry = self.entries[position]
            if entry == 0 {
                return nil
            }
            if Self.key(of: entry) == key && matches(Self.sequence(of: entry)) {
                return position
            }
            position = (position + 1) & self.mask
        }
    }

    func sequence(at position: Int) -> UInt32 {
        Self.sequence(of: self.entries[position])
    }

    /// Points the entry at `position` at another sequence of the same content (same hash).
    mutating func replaceSequence(at position: Int, with sequence: UInt32) {
        self.entries[position] = self.entries[position] & 0xFFFF_FFFF_0000_0000 | UInt64(sequence)
    }

    /// Adds an entry.
    mutating func insert(sequence: UInt32, hash: UInt32) {
        if (self.count + 1) > self.capacity * 3 / 4 {
            self.resize(to: self.capacity * 2)
        }
        self.place(UInt64(Self.key(hash)) << 32 | UInt64(sequence))
        self.count += 1
    }

    @inline(__always)
    private mutating func place(_ entry: UInt64) {
        var position = Int(Self.key(of: entry)) & self.mask
        while self.entries[position] != 0 {
            position = (position + 1) & self.mask
        }
        self.entries[position] = entry
    }

    /// Removes the entry at `position` (from ``find(hash:where:)``), shifting later entries of the
    /// probe chain back so that lookups never need tombstones.
    mutating func remove(at position: Int) {
        var hole = position
        var next = (hole + 1) & self.mask
        while self.entries[next] != 0 {
            let home = Int(Self.key(of: self.entries[next])) & self.mask
            // Move the entry into the hole unless its home lies cyclically in (hole, next].
            if (next &- home) & self.mask >= (next &- hole) & self.mask {
                self.entries[hole] = self.entries[next]
                hole = next
            }
            next = (next + 1) & self.mask
        }
        self.entries[hole] = 0
        self.count -= 1
        if self.capacity > Self.minimumCapacity * 8 && self.count < self.capacity / 16 {
            self.resize(to: Self.capacity(for: self.count * 2))
        }
    }

    /// Replaces the contents with `entries`, sized for `count` of them.
    mutating func rebuild<Entries: Sequence>(count: Int, _ entries: Entries)
    where Entries.Element == (sequence: UInt32, hash: UInt32) {
        var rebuilt = MessageIndex(expectedEntries: count)
        for entry in entries {
            rebuilt.insert(sequence: entry.sequence, hash: entry.hash)
        }
        self = rebuilt
    }

    private mutating func resize(to newCapacity: Int) {
        let old = self.entries
        let oldCapacity = self.capacity
        self.mask = newCapacity - 1
        self.entries = .allocate(capacity: newCapacity)
        self.entries.initialize(repeating: 0, count: newCapacity)
        for position in 0..<oldCapacity where old[position] != 0 {
            self.place(old[position])
        }
        old.deallocate()
    }
}
