/// One lock's worth of the cache: a chained hash table, an LRU list and a byte budget.
///
/// Everything is indices into one `entries` array: the bucket chains, the free-slot list and the
/// doubly linked LRU list (`newer` towards the most recently used end). That keeps get, store and
/// evict O(1) without reference counting on list links, and without an allocation per entry.
///
/// Every method is called with the shard's lock held. Items that die inside a locked section are
/// returned to the caller, which drops them after the lock is released, so freeing a large value
/// never happens under the lock (those reclaimed or evicted to make room are the exception).
struct KeyValueCacheShard: Sendable {
    /// One slot of the table. 48 bytes. Only touched under the shard's lock; its item's bytes are
    /// immutable (see ``StoredItem``), hence `@unchecked`.
    struct Entry: @unchecked Sendable {
        /// The key and value; `nil` while the slot is on the free list.
        var item: StoredItem?
        var hash: UInt64
        var casUnique: UInt64
        /// Unix second at which the item stops being visible; see ``KeyValueCacheExpiry``.
        var expiresAt: Int64
        /// Towards the most recently used end of the LRU list.
        var newer: Int32
        /// Towards the least recently used end of the LRU list.
        var older: Int32
        /// Next slot in the same bucket, or in the free list.
        var chainNext: Int32
        /// Whether a read ever returned it (for `evicted_unfetched` / `expired_unfetched`).
        var wasFetched: Bool
    }

    enum Liveness {
        case live
        case expired
        case flushed
    }

    /// The first step of `append`/`prepend`: a final answer, or the item to join with.
    enum JoinStart {
        case finished(KeyValueCache.StoreOutcome, released: StoredItem?)
        case proceed(current: StoredItem, casUnique: UInt64)
    }

    /// The last step of `append`/`prepend`.
    enum JoinCommit {
        case finished(KeyValueCache.StoreOutcome, released: StoredItem?)
        /// The item changed between the two steps: start again.
        case retry
    }

    static let none: Int32 = -1
    /// memcached's tail search: how many of the least recently used items are checked for an
    /// expired one before a live one is evicted.
    private static let reclaimSearchDepth = 5
    private static let initialBucketCount = 256

    private var entries: ContiguousArray<Entry> = []
    private var buckets: ContiguousArray<Int32>
    private var bucketMask: Int
    private var freeSlots: Int32 = none
    private var newest: Int32 = none
    private var oldest: Int32 = none
    private var itemCount = 0
    private var usedBytes = 0
    private let budget: Int
    private let perItemOverhead: Int

    /// CAS uniques are `counter << shardBits | shardIndex`: unique across the whole cache without
    /// a shared atomic counter, and increasing within the shard.
    private let shardBits: UInt64
    private let shardIndex: UInt64
    private var casCounter: UInt64 = 1

    /// Items whose CAS unique is below this were stored before the last `flush_all` took effect.
    /// Comparing uniques rather than seconds flushes exactly what came before the flush, even
    /// within the same second.
    private var oldestLiveCAS: UInt64 = 0
    /// When a delayed `flush_all` takes effect; applied by the first operation at or after it.
    private var pendingFlushDeadline: Int64?

    var counters = KeyValueCache.Statistics()

    init(index: Int, shardBits: Int, budget: Int, perItemOverhead: Int) {
        self.shardIndex = UInt64(index)
        self.shardBits = UInt64(shardBits)
        self.budget = budget
        self.perItemOverhead = perItemOverhead
        self.buckets = ContiguousArray(repeating: Self.none, count: Self.initialBucketCount)
        self.bucketMask = Self.initialBucketCount - 1
    }

    // MARK: Operations

    mutating func get(hash: UInt64, key: UnsafeRawBufferPointer, now: Int64) -> (KeyValueCache.Item?, released: StoredItem?) {
        self.applyDueFlush(now: now)
        self.counters.commandGet += 1
        let (index, dead) = self.findLive(hash: hash, key: key, now: now)
        guard index != Self.none else {
            self.counters.getMisses += 1
            return (nil, dead)
        }
        self.counters.getHits += 1
        return (self.read(index), nil)
    }

    /// `gat`/`gats`: the item as it was, then its new expiry (so `gat -1` returns it one last time).
    mutating func getAndTouch(
        hash: UInt64,
        key: UnsafeRawBufferPointer,
        expiresAt: Int64,
        now: Int64
    ) -> (KeyValueCache.Item?, released: StoredItem?) {
        self.applyDueFlush(now: now)
        self.counters.commandTouch += 1
        let (index, dead) = self.findLive(hash: hash, key: key, now: now)
        guard index != Self.none else {
            self.counters.touchMisses += 1
            return (nil, dead)
        }
        self.counters.touchHits += 1
        let item = self.read(index)
        self.entries[Int(index)].expiresAt = expiresAt
        return (item, nil)
    }

    /// `touch`: a new expiry, same CAS unique (memcached does not change it either).
    mutating func touch(
        hash: UInt64,
        key: UnsafeRawBufferPointer,
        expiresAt: Int64,
        now: Int64
    ) -> (KeyValueCache.TouchOutcome, released: StoredItem?) {
        let (item, released) = self.getAndTouch(hash: hash, key: key, expiresAt: expiresAt, now: now)
        return (item == nil ? .notFound : .touched, released)
    }

    mutating func delete(hash: UInt64, key: UnsafeRawBufferPointer, now: Int64) -> (KeyValueCache.DeleteOutcome, released: StoredItem?) {
        self.applyDueFlush(now: now)
        let (index, dead) = self.findLive(hash: hash, key: key, now: now)
        guard index != Self.none else {
            self.counters.deleteMisses += 1
            return (.notFound, dead)
        }
        self.counters.deleteHits += 1
        return (.deleted, self.unlink(index))
    }

    /// `set`/`add`/`replace`/`cas` of an item built before the lock was taken.
    ///
    /// - Parameter prepared: The new item, or `nil` when it is already expired: the store then
    ///   succeeds and removes the old value, but keeps nothing (memcached would keep an invisible
    ///   item until its LRU crawler found it).
    mutating func store(
        _ mode: KeyValueCache.StoreMode,
        hash: UInt64,
        key: UnsafeRawBufferPointer,
        prepared: StoredItem?,
        expiresAt: Int64,
        now: Int64
    ) -> (KeyValueCache.StoreOutcome, released: StoredItem?) {
        self.applyDueFlush(now: now)
        self.counters.commandSet += 1
        let (index, dead) = self.findLive(hash: hash, key: key, now: now)
        switch mode {
        case .set:
            break
        case .add:
            if index != Self.none {
                self.bump(index)  // memcached promotes the item an `add` bounced off
                return (.notStored, nil)
            }
        case .replace:
            if index == Self.none { return (.notStored, dead) }
        case .compareAndSwap(let casUnique):
            if index == Self.none {
                self.counters.casMisses += 1
                return (.notFound, dead)
            }
            if self.entries[Int(index)].casUnique != casUnique {
                self.counters.casBadValue += 1
                return (.exists, nil)
            }
            self.counters.casHits += 1
        case .append, .prepend:
            preconditionFailure("append and prepend go through beginJoin/commitJoin")
        }
        let released = index == Self.none ? dead : self.unlink(index)
        self.counters.totalItems += 1
        guard let prepared else { return (.stored, released) }
        guard self.makeRoom(for: self.footprint(of: prepared), now: now) else {
            self.counters.storeNoMemory += 1
            return (.outOfMemory, released)
        }
        self.link(prepared, hash: hash, casUnique: self.issueCAS(), expiresAt: expiresAt)
        self.reclaimOldestIfDead(now: now)
        return (.stored, released)
    }

    /// A store refused before it reached the table (too large, or larger than a shard). A refused
    /// `set` removes the old value, as memcached does; other modes leave it.
    mutating func refuseStore(
        hash: UInt64,
        key: UnsafeRawBufferPointer,
        removingOldValue: Bool,
        tooLarge: Bool,
        now: Int64
    ) -> StoredItem? {
        self.applyDueFlush(now: now)
        if tooLarge {
            self.counters.storeTooLarge += 1
        } else {
            self.counters.storeNoMemory += 1
        }
        guard removingOldValue else { return nil }
        let (index, dead) = self.findLive(hash: hash, key: key, now: now)
        return index == Self.none ? dead : self.unlink(index)
    }

    /// First step of `append`/`prepend`: find the item, check the joined size. The joined value is
    /// then built without the lock and committed by ``commitJoin(hash:key:expectedCASUnique:joined:now:)``.
    mutating func beginJoin(
        hash: UInt64,
        key: UnsafeRawBufferPointer,
        addedLength: Int,
        maximumValueLength: Int,
        now: Int64
    ) -> JoinStart {
        self.applyDueFlush(now: now)
        let (index, dead) = self.findLive(hash: hash, key: key, now: now)
        guard index != Self.none else {
            self.counters.commandSet += 1
            return .finished(.notStored, released: dead)
        }
        let current = self.entries[Int(index)].item!
        guard current.valueLength + addedLength <= maximumValueLength else {
            // memcached fails to allocate the joined item and answers NOT_STORED.
            self.counters.commandSet += 1
            return .finished(.notStored, released: nil)
        }
        return .proceed(current: current, casUnique: self.entries[Int(index)].casUnique)
    }

    /// Last step of `append`/`prepend`: swap in the joined item if nothing changed meanwhile.
    /// The entry keeps its slot, expiry and flags; it gets a fresh CAS unique.
    mutating func commitJoin(
        hash: UInt64,
        key: UnsafeRawBufferPointer,
        expectedCASUnique: UInt64,
        joined: StoredItem,
        now: Int64
    ) -> JoinCommit {
        self.applyDueFlush(now: now)
        let (index, dead) = self.findLive(hash: hash, key: key, now: now)
        guard index != Self.none else {
            self.counters.commandSet += 1
            return .finished(.notStored, released: dead)
        }
        let slot = Int(index)
        guard self.entries[slot].casUnique == expectedCASUnique else { return .retry }
        self.bump(index)
        let growth = joined.valueLength - self.entries[slot].item!.valueLength
        guard self.makeRoom(for: growth, now: now, protecting: index) else {
            self.counters.commandSet += 1
            return .finished(.notStored, released: nil)
        }
        let previous = self.replaceItem(at: slot, with: joined, growth: growth)
        self.entries[slot].casUnique = self.issueCAS()
        self.counters.commandSet += 1
        self.counters.totalItems += 1
        return .finished(.stored, released: previous)
    }

    /// `incr`/`decr`, with memcached's in-place rewrite: a number that fits in the current value
    /// is written over it and padded with spaces; a longer one makes a value exactly its length.
    mutating func applyDelta(
        _ delta: UInt64,
        increment: Bool,
        hash: UInt64,
        key: UnsafeRawBufferPointer,
        now: Int64
    ) -> (KeyValueCache.DeltaOutcome, released: StoredItem?) {
        self.applyDueFlush(now: now)
        let (index, dead) = self.findLive(hash: hash, key: key, now: now)
        guard index != Self.none else {
            if increment {
                self.counters.incrementMisses += 1
            } else {
                self.counters.decrementMisses += 1
            }
            return (.notFound, dead)
        }
        let slot = Int(index)
        guard let current = self.entries[slot].item!.withUnsafeValueBytes(KeyValueCacheDelta.number(in:)) else {
            return (.nonNumeric, nil)
        }
        if increment {
            self.counters.incrementHits += 1
        } else {
            self.counters.decrementHits += 1
        }
        let result = KeyValueCacheDelta.apply(delta, to: current, increment: increment)
        let digits = KeyValueCacheDelta.digitCount(result)
        let length = self.entries[slot].item!.valueLength
        self.bump(index)
        var released: StoredItem? = nil
        if digits <= length {
            if !isKnownUniquelyReferenced(&self.entries[slot].item) {
                // A reader still holds these bytes: rewrite a copy instead.
                let previous = self.entries[slot].item!
                self.entries[slot].item = Self.copy(of: previous, valueLength: length)
                released = previous
            }
            self.entries[slot].item!.withUnsafeMutableValueBytes {
                KeyValueCacheDelta.write(result, paddedInto: $0)
            }
        } else {
            let growth = digits - length
            guard self.makeRoom(for: growth, now: now, protecting: index) else {
                return (.outOfMemory, nil)
            }
            let longer = Self.copy(of: self.entries[slot].item!, valueLength: digits)
            longer.withUnsafeMutableValueBytes { KeyValueCacheDelta.write(result, paddedInto: $0) }
            released = self.replaceItem(at: slot, with: longer, growth: growth)
            self.counters.totalItems += 1
        }
        self.entries[slot].casUnique = self.issueCAS()
        return (.value(result), released)
    }

    /// `flush_all`: at once, from a moment on, or not at all. A later flush replaces a pending one,
    /// as in memcached where each `flush_all` overwrites `oldest_live`. O(1): items die lazily,
    /// when next met.
    mutating func flush(_ moment: KeyValueCacheExpiry.FlushMoment) {
        switch moment {
        case .now:
            self.oldestLiveCAS = self.nextCAS
            self.pendingFlushDeadline = nil
        case .at(let deadline):
            self.pendingFlushDeadline = deadline
        case .cancelPending:
            self.pendingFlushDeadline = nil
        }
    }

    func statistics() -> KeyValueCache.Statistics {
        var statistics = self.counters
        statistics.currentItems = UInt64(self.itemCount)
        statistics.bytes = UInt64(self.usedBytes)
        return statistics
    }

    // MARK: Table

    private var nextCAS: UInt64 { (self.casCounter << self.shardBits) | self.shardIndex }

    private mutating func issueCAS() -> UInt64 {
        let casUnique = self.nextCAS
        self.casCounter += 1
        return casUnique
    }

    private mutating func applyDueFlush(now: Int64) {
        if let deadline = self.pendingFlushDeadline, now >= deadline {
            self.oldestLiveCAS = self.nextCAS
            self.pendingFlushDeadline = nil
        }
    }

    private func footprint(of item: StoredItem) -> Int {
        item.keyLength + item.valueLength + self.perItemOverhead
    }

    private func liveness(_ index: Int32, now: Int64) -> Liveness {
        let entry = Int(index)
        if self.entries[entry].casUnique < self.oldestLiveCAS { return .flushed }
        if KeyValueCacheExpiry.isExpired(expiresAt: self.entries[entry].expiresAt, now: now) { return .expired }
        return .live
    }

    private func find(hash: UInt64, key: UnsafeRawBufferPointer) -> Int32 {
        var index = self.buckets[Int(truncatingIfNeeded: hash) & self.bucketMask]
        while index != Self.none {
            let slot = Int(index)
            if self.entries[slot].hash == hash, self.entries[slot].item!.hasKey(key) { return index }
            index = self.entries[slot].chainNext
        }
        return Self.none
    }

    /// The live item under `key`. A dead one found instead is unlinked and counted, as memcached's
    /// `do_item_get` does for every command, and handed back for release outside the lock.
    private mutating func findLive(hash: UInt64, key: UnsafeRawBufferPointer, now: Int64) -> (Int32, dead: StoredItem?) {
        let index = self.find(hash: hash, key: key)
        guard index != Self.none else { return (Self.none, nil) }
        switch self.liveness(index, now: now) {
        case .live:
            return (index, nil)
        case .expired:
            self.counters.getExpired += 1
        case .flushed:
            self.counters.getFlushed += 1
        }
        return (Self.none, self.unlink(index))
    }

    /// A read: marks the item fetched and most recently used.
    private mutating func read(_ index: Int32) -> KeyValueCache.Item {
        let slot = Int(index)
        self.entries[slot].wasFetched = true
        self.bump(index)
        return KeyValueCache.Item(storage: self.entries[slot].item!, casUnique: self.entries[slot].casUnique)
    }

    private mutating func link(_ item: StoredItem, hash: UInt64, casUnique: UInt64, expiresAt: Int64) {
        let bucket = Int(truncatingIfNeeded: hash) & self.bucketMask
        let entry = Entry(
            item: item,
            hash: hash,
            casUnique: casUnique,
            expiresAt: expiresAt,
            newer: Self.none,
            older: Self.none,
            chainNext: self.buckets[bucket],
            wasFetched: false
        )
        let index: Int32
        if self.freeSlots != Self.none {
            index = self.freeSlots
            self.freeSlots = self.entries[Int(index)].chainNext
            self.entries[Int(index)] = entry
        } else {
            precondition(self.entries.count < Int(Int32.max), "a shard holds fewer than 2^31 items")
            index = Int32(self.entries.count)
            self.entries.append(entry)
        }
        self.buckets[bucket] = index
        self.attachAsNewest(index)
        self.usedBytes += self.footprint(of: item)
        self.itemCount += 1
        if self.itemCount > self.buckets.count {
            self.doubleBuckets()
        }
    }

    /// Removes the entry from its chain and the LRU list, frees its slot, returns its item.
    private mutating func unlink(_ index: Int32) -> StoredItem {
        let slot = Int(index)
        let bucket = Int(truncatingIfNeeded: self.entries[slot].hash) & self.bucketMask
        if self.buckets[bucket] == index {
            self.buckets[bucket] = self.entries[slot].chainNext
        } else {
            var previous = self.buckets[bucket]
            while self.entries[Int(previous)].chainNext != index {
                previous = self.entries[Int(previous)].chainNext
            }
            self.entries[Int(previous)].chainNext = self.entries[slot].chainNext
        }
        self.detachFromLRU(index)
        let item = self.entries[slot].item!
        self.entries[slot].item = nil
        self.entries[slot].chainNext = self.freeSlots
        self.freeSlots = index
        self.usedBytes -= self.footprint(of: item)
        self.itemCount -= 1
        return item
    }

    /// Puts `item` in an occupied slot (same key, so same hash and chain) and returns the old one.
    private mutating func replaceItem(at slot: Int, with item: StoredItem, growth: Int) -> StoredItem {
        let previous = self.entries[slot].item!
        self.entries[slot].item = item
        self.usedBytes += growth
        return previous
    }

    /// A new item with the same key and flags and a value of `valueLength` bytes, which the
    /// caller must write in full.
    private static func copy(of item: StoredItem, valueLength: Int) -> StoredItem {
        item.withUnsafeKeyBytes { key in
            StoredItem.make(keyLength: key.count, valueLength: valueLength, flags: item.flags) { bytes in
                bytes.copyMemory(from: key)
            }
        }
    }

    private mutating func doubleBuckets() {
        let count = self.buckets.count * 2
        self.buckets = ContiguousArray(repeating: Self.none, count: count)
        self.bucketMask = count - 1
        for slot in self.entries.indices where self.entries[slot].item != nil {
            let bucket = Int(truncatingIfNeeded: self.entries[slot].hash) & self.bucketMask
            self.entries[slot].chainNext = self.buckets[bucket]
            self.buckets[bucket] = Int32(slot)
        }
    }

    // MARK: LRU

    private mutating func detachFromLRU(_ index: Int32) {
        let slot = Int(index)
        let newer = self.entries[slot].newer
        let older = self.entries[slot].older
        if newer != Self.none {
            self.entries[Int(newer)].older = older
        } else {
            self.newest = older
        }
        if older != Self.none {
            self.entries[Int(older)].newer = newer
        } else {
            self.oldest = newer
        }
    }

    private mutating func attachAsNewest(_ index: Int32) {
        let slot = Int(index)
        self.entries[slot].newer = Self.none
        self.entries[slot].older = self.newest
        if self.newest != Self.none {
            self.entries[Int(self.newest)].newer = index
        } else {
            self.oldest = index
        }
        self.newest = index
    }

    private mutating func bump(_ index: Int32) {
        guard self.newest != index else { return }
        self.detachFromLRU(index)
        self.attachAsNewest(index)
    }

    /// Frees least recently used items until `bytes` more fit in the budget: expired or flushed
    /// ones near the tail first (reclaimed), else the tail itself (evicted). Never the entry at
    /// `protecting`, the one being grown.
    private mutating func makeRoom(for bytes: Int, now: Int64, protecting: Int32 = none) -> Bool {
        guard bytes <= self.budget else { return false }
        while self.usedBytes + bytes > self.budget {
            guard self.reclaimOrEvictOldest(now: now, protecting: protecting) else { return false }
        }
        return true
    }

    private mutating func reclaimOrEvictOldest(now: Int64, protecting: Int32) -> Bool {
        var candidate = self.oldest
        var searched = 0
        while candidate != Self.none, searched < Self.reclaimSearchDepth {
            if candidate != protecting, self.liveness(candidate, now: now) != .live {
                self.reclaim(candidate)
                return true
            }
            candidate = self.entries[Int(candidate)].newer
            searched += 1
        }
        let victim = self.oldest
        guard victim != Self.none, victim != protecting else { return false }
        if !self.entries[Int(victim)].wasFetched {
            self.counters.evictedUnfetched += 1
        }
        self.counters.evictions += 1
        _ = self.unlink(victim)
        return true
    }

    /// After each store, take back the tail item if it is dead: expired and flushed items go even
    /// when memory is not short, so a flushed cache empties itself as it is used.
    private mutating func reclaimOldestIfDead(now: Int64) {
        let candidate = self.oldest
        if candidate != Self.none, self.liveness(candidate, now: now) != .live {
            self.reclaim(candidate)
        }
    }

    private mutating func reclaim(_ index: Int32) {
        if !self.entries[Int(index)].wasFetched {
            self.counters.expiredUnfetched += 1
        }
        self.counters.reclaimed += 1
        _ = self.unlink(index)
    }
}

// MARK: Invariants (for tests)

extension KeyValueCacheShard {
    /// Every way the table could be corrupt, described; empty when sound.
    func invariantViolations(hasher: ByteHasher) -> [String] {
        var problems: [String] = []
        // LRU: a consistent chain from newest to oldest through exactly the occupied slots.
        var visited = 0
        var index = self.newest
        var previous = Self.none
        while index != Self.none, visited <= self.entries.count {
            let entry = self.entries[Int(index)]
            if entry.item == nil { problems.append("free slot \(index) in the LRU list") }
            if entry.newer != previous { problems.append("slot \(index): newer \(entry.newer), expected \(previous)") }
            previous = index
            index = entry.older
            visited += 1
        }
        if previous != self.oldest { problems.append("LRU ends at \(previous), oldest is \(self.oldest)") }
        if visited != self.itemCount { problems.append("LRU holds \(visited) items, count is \(self.itemCount)") }

        // Chains: every item in its bucket, under the hash of its key, no key twice.
        var chained = 0
        var accountedBytes = 0
        for bucket in self.buckets.indices {
            var keysInBucket: [[UInt8]] = []
            var slot = self.buckets[bucket]
            while slot != Self.none, chained <= self.entries.count {
                let entry = self.entries[Int(slot)]
                guard let item = entry.item else {
                    problems.append("free slot \(slot) in bucket \(bucket)")
                    break
                }
                let key = item.withUnsafeKeyBytes { Array($0) }
                let hash = key.withUnsafeBytes { hasher.hash($0) }
                if hash != entry.hash { problems.append("slot \(slot): stored hash is not its key's") }
                if Int(truncatingIfNeeded: entry.hash) & self.bucketMask != bucket {
                    problems.append("slot \(slot) in the wrong bucket")
                }
                if keysInBucket.contains(key) { problems.append("key held twice in bucket \(bucket)") }
                keysInBucket.append(key)
                accountedBytes += self.footprint(of: item)
                chained += 1
                slot = entry.chainNext
            }
        }
        if chained != self.itemCount { problems.append("chains hold \(chained) items, count is \(self.itemCount)") }
        if accountedBytes != self.usedBytes { problems.append("items add up to \(accountedBytes) bytes, accounted \(self.usedBytes)") }
        if self.usedBytes > self.budget { problems.append("\(self.usedBytes) bytes over the budget of \(self.budget)") }

        // Free list: exactly the empty slots.
        var free = 0
        var slot = self.freeSlots
        while slot != Self.none, free <= self.entries.count {
            if self.entries[Int(slot)].item != nil { problems.append("occupied slot \(slot) on the free list") }
            free += 1
            slot = self.entries[Int(slot)].chainNext
        }
        if free + self.itemCount != self.entries.count {
            problems.append("\(free) free + \(self.itemCount) used slots, table has \(self.entries.count)")
        }
        return problems
    }
}
