import NIOCore

/// The storage engine of `mc-db-server`: a thread-safe, memory-bounded LRU key/value cache with
/// memcached 1.6's semantics (store modes, CAS uniques, expiry, `incr`/`decr`, `touch`,
/// `flush_all`, the `stats` counters). The wire protocol lives elsewhere and calls this API.
///
/// ## Layout and memory accounting
/// Keys hash (once per operation, seeded) to one of ``shardCount`` shards, each behind its own
/// `AdaptiveLock` with its own chained hash table, LRU list and share of the memory limit. Each item
/// is one heap allocation holding key and value side by side; a hit returns a reference to it
/// (no copy, no allocation). An item is accounted as key + value + ``perItemOverhead`` bytes,
/// and a shard evicts its least recently used items before it would exceed its share, so the
/// total never exceeds ``Configuration/memoryLimit``.
///
/// ## Time
/// Expiry and `flush_all` delays use whole seconds from the injected ``KeyValueCacheClock``,
/// read once per operation outside the lock. Expired and flushed items die lazily: they are
/// invisible at once, and their memory comes back when they are next looked up or reach the LRU
/// tail, so `flush_all` is O(shards) however many items there are.
///
/// ## Keys and values
/// Keys and values are the readable bytes of the `ByteBuffer`s passed in, typically slices of a
/// receive buffer. They are copied into the item; the caller's buffers are never kept.
public final class KeyValueCache: Sendable {
    /// memcached's own item header, as far as its "too large" test sees it: the 48-byte item
    /// struct, the 8-byte CAS, the key's NUL and the value's CRLF. Measured on memcached 1.6.18
    /// with `-I 1m`: a value of 1,048,576 − 59 − key length bytes is stored, one more is refused.
    public static let memcachedItemHeaderSize = 59

    /// Bytes accounted for each item on top of its key and value, from this engine's real layout:
    /// its slot in the shard's entry table (48), its share of the bucket array (at most two 4-byte
    /// buckets per item while the table grows), the Swift object header (16) and item header (12)
    /// in front of the key and value, and malloc's chunk header plus average rounding (16).
    /// 100 bytes on 64-bit Linux.
    public static let perItemOverhead: Int =
        MemoryLayout<KeyValueCacheShard.Entry>.stride
        + 2 * MemoryLayout<Int32>.stride
        + 16 + MemoryLayout<StoredItemHeader>.stride
        + 16

    /// The configuration the cache was made with.
    public let configuration: Configuration

    /// The number of shards actually used (see ``Configuration/shardCount``).
    public let shardCount: Int

    /// Each shard's share of the memory limit.
    public let shardMemoryLimit: Int

    private let shards: [AdaptiveLockedBox<KeyValueCacheShard>]
    private let hasher: ByteHasher
    private let clock: any KeyValueCacheClock
    /// The Unix second memcached would say it started at (see ``KeyValueCacheExpiry/processStartedLead``).
    private let processStarted: Int64

    /// Creates an empty cache.
    ///
    /// - Parameters:
    ///   - configuration: Memory limit, maximum item size and shard count.
    ///   - clock: Where the time comes from; inject a ``KeyValueCacheManualClock`` in tests.
    public init(
        configuration: Configuration = Configuration(),
        clock: any KeyValueCacheClock = KeyValueCacheSystemClock()
    ) {
        precondition(configuration.memoryLimit > 0, "the memory limit must be positive")
        precondition(
            configuration.maximumItemSize > 0 && configuration.maximumItemSize <= 1 << 30,
            "the maximum item size must be between 1 byte and 1 GiB"
        )
        precondition(configuration.shardCount > 0, "there must be at least one shard")
        var shardCount = 1
        while shardCount * 2 <= configuration.shardCount { shardCount *= 2 }
        // Every shard must hold an item of the maximum size, with room to spare for LRU order.
        while shardCount > 1, configuration.memoryLimit / shardCount < 2 * configuration.maximumItemSize {
            shardCount /= 2
        }
        let shardBits = shardCount.trailingZeroBitCount
        self.configuration = configuration
        self.shardCount = shardCount
        self.shardMemoryLimit = configuration.memoryLimit / shardCount
        self.shards = (0..<shardCount).map { index in
            AdaptiveLockedBox(
                KeyValueCacheShard(
                    index: index,
                    shardBits: shardBits,
                    budget: configuration.memoryLimit / shardCount,
                    perItemOverhead: Self.perItemOverhead
                )
            )
        }
        self.hasher = ByteHasher(seed: UInt64.random(in: .min ... .max))
        self.clock = clock
        self.processStarted = clock.secondsSinceEpoch - KeyValueCacheExpiry.processStartedLead
    }

    // MARK: Reads

    /// `get`/`gets` of one key: the live item, made most recently used, or `nil`.
    public func get(_ key: ByteBuffer) -> Item? {
        let now = self.clock.secondsSinceEpoch
        return key.withUnsafeReadableBytes { key in
            let hash = self.hasher.hash(key)
            // A dead item met on the way comes back as the discarded second element and is
            // released here, after the lock.
            let (item, _) = self.shard(for: hash).withLockedValue { $0.get(hash: hash, key: key, now: now) }
            return item
        }
    }

    /// `gat`/`gats` of one key: the live item as it was, after which its expiry becomes `exptime`
    /// (its CAS unique does not change). Counts as a touch, not a get, as in memcached.
    ///
    /// - Parameter exptime: memcached's `exptime`: 0 never, up to 30 days relative seconds, else
    ///   a Unix time; negative means expired (the item is returned one last time).
    public func getAndTouch(_ key: ByteBuffer, exptime: Int64) -> Item? {
        let now = self.clock.secondsSinceEpoch
        let expiresAt = KeyValueCacheExpiry.expiresAt(exptime: exptime, now: now)
        return key.withUnsafeReadableBytes { key in
            let hash = self.hasher.hash(key)
            let (item, _) = self.shard(for: hash).withLockedValue {
                $0.getAndTouch(hash: hash, key: key, expiresAt: expiresAt, now: now)
            }
            return item
        }
    }

    // MARK: Writes

    /// A storage command: `set`, `add`, `replace`, `append`, `prepend` or `cas`.
    ///
    /// Every successful store gives the item a fresh CAS unique. `append`/`prepend` keep the
    /// item's flags and expiry and ignore `flags` and `exptime`, as memcached does.
    ///
    /// - Parameters:
    ///   - mode: Which command.
    ///   - key: The key's bytes (copied).
    ///   - value: The data block's bytes, without its CRLF (copied).
    ///   - flags: The client's 32-bit flags.
    ///   - exptime: memcached's `exptime` (see ``getAndTouch(_:exptime:)``). A store with a past
    ///     or negative one succeeds and leaves nothing visible under the key.
    /// - Returns: memcached's answer.
    public func store(
        _ mode: StoreMode,
        key: ByteBuffer,
        value: ByteBuffer,
        flags: UInt32,
        exptime: Int64
    ) -> StoreOutcome {
        let now = self.clock.secondsSinceEpoch
        return key.withUnsafeReadableBytes { key in
            value.withUnsafeReadableBytes { value in
                self.store(mode, key: key, value: value, flags: flags, exptime: exptime, now: now)
            }
        }
    }

    /// `delete`.
    public func delete(_ key: ByteBuffer) -> DeleteOutcome {
        let now = self.clock.secondsSinceEpoch
        return key.withUnsafeReadableBytes { key in
            let hash = self.hasher.hash(key)
            let (outcome, _) = self.shard(for: hash).withLockedValue { $0.delete(hash: hash, key: key, now: now) }
            return outcome
        }
    }

    /// `incr`: adds `delta`, wrapping at 2^64.
    ///
    /// The value must hold a decimal number as memcached reads it (leading white space and a
    /// sign allowed, anything after white space ignored). The new number is written over the old
    /// one and padded with spaces when it fits, else the value grows to exactly its digits,
    /// as memcached does (`incr` of `99` gives `100`; `incr` of 18446744073709551615 by 1 stores
    /// `0` and 19 spaces). The item gets a fresh CAS unique and keeps its flags and expiry.
    public func increment(_ key: ByteBuffer, by delta: UInt64) -> DeltaOutcome {
        self.applyDelta(delta, increment: true, key: key)
    }

    /// `decr`: subtracts `delta`, stopping at 0 (`decr` of `10` by 1 stores `9 `, a space
    /// included). Otherwise as ``increment(_:by:)``.
    public func decrement(_ key: ByteBuffer, by delta: UInt64) -> DeltaOutcome {
        self.applyDelta(delta, increment: false, key: key)
    }

    /// `touch`: gives a live item a new expiry (see ``getAndTouch(_:exptime:)``) without changing
    /// its CAS unique, and makes it most recently used.
    public func touch(_ key: ByteBuffer, exptime: Int64) -> TouchOutcome {
        let now = self.clock.secondsSinceEpoch
        let expiresAt = KeyValueCacheExpiry.expiresAt(exptime: exptime, now: now)
        return key.withUnsafeReadableBytes { key in
            let hash = self.hasher.hash(key)
            let (outcome, _) = self.shard(for: hash).withLockedValue {
                $0.touch(hash: hash, key: key, expiresAt: expiresAt, now: now)
            }
            return outcome
        }
    }

    /// `flush_all [delay]`: every item stored before the flush takes effect becomes invisible;
    /// items stored from then on stay.
    ///
    /// Without a delay (or with 0, a negative one, or 1) it takes effect at once. Otherwise it
    /// takes effect `delay - 1` seconds from now, as on memcached 1.6 (`flush_all 3` empties the
    /// cache two seconds later; a delay over 30 days is a Unix time). A new `flush_all` replaces
    /// a pending one; a Unix time from before the server started only drops a pending one, as in
    /// memcached (which also brings back items flushed before and not looked at since; here they
    /// stay flushed). Costs one short lock per shard; the items themselves die lazily.
    public func flushAll(delay: Int64 = 0) {
        let now = self.clock.secondsSinceEpoch
        let moment = KeyValueCacheExpiry.flushMoment(delay: delay, now: now, processStarted: self.processStarted)
        for (index, shard) in self.shards.enumerated() {
            shard.withLockedValue { shard in
                shard.flush(moment)
                if index == 0 { shard.counters.commandFlush += 1 }
            }
        }
    }

    // MARK: Statistics

    /// The counters of memcached's `stats`, summed over the shards (each read under its lock, so
    /// the whole is consistent per shard, not across shards).
    public func statistics() -> Statistics {
        var total = Statistics()
        for shard in self.shards {
            total.accumulate(shard.withLockedValue { $0.statistics() })
        }
        total.limitMaxBytes = UInt64(self.configuration.memoryLimit)
        return total
    }

    /// memcached's `stats reset`: every counter starts again from 0; what the cache holds stays.
    public func resetStatistics() {
        for shard in self.shards {
            shard.withLockedValue { $0.counters = Statistics() }
        }
    }

    /// A store refused before its data was read, because it announced more bytes than an item may
    /// hold (`SERVER_ERROR object too large for cache`): counted as `store_too_large`, and for a
    /// `set` (`removingOldValue`) the old value goes, as in memcached, so no stale value survives.
    public func refuseTooLarge(key: ByteBuffer, removingOldValue: Bool) {
        let now = self.clock.secondsSinceEpoch
        key.withUnsafeReadableBytes { key in
            self.refuse(key: key, hash: self.hasher.hash(key), removingOldValue: removingOldValue, tooLarge: true, now: now)
        }
    }

    /// A storage command whose data did not end where its length said (`CLIENT_ERROR bad data
    /// chunk`): nothing is stored, but memcached counts it in `cmd_set` before it checks the block.
    public func countStoreWithBadData() {
        self.shards[0].withLockedValue { $0.counters.commandSet += 1 }
    }

    // MARK: Internals

    private func refuse(key: UnsafeRawBufferPointer, hash: UInt64, removingOldValue: Bool, tooLarge: Bool, now: Int64) {
        _ = self.shard(for: hash).withLockedValue {
            $0.refuseStore(hash: hash, key: key, removingOldValue: removingOldValue, tooLarge: tooLarge, now: now)
        }
    }

    private func shard(for hash: UInt64) -> AdaptiveLockedBox<KeyValueCacheShard> {
        // The high half picks the shard; the shard's buckets use the low half.
        self.shards[Int(truncatingIfNeeded: hash >> 32) & (self.shardCount - 1)]
    }

    private func store(
        _ mode: StoreMode,
        key: UnsafeRawBufferPointer,
        value: UnsafeRawBufferPointer,
        flags: UInt32,
        exptime: Int64,
        now: Int64
    ) -> StoreOutcome {
        let hash = self.hasher.hash(key)
        let shard = self.shard(for: hash)
        let tooLarge = key.count + value.count + Self.memcachedItemHeaderSize > self.configuration.maximumItemSize
        let tooLargeForShard = key.count + value.count + Self.perItemOverhead > self.shardMemoryLimit
        if tooLarge || tooLargeForShard {
            self.refuse(key: key, hash: hash, removingOldValue: mode == .set, tooLarge: tooLarge, now: now)
            return tooLarge ? .tooLarge : .outOfMemory
        }
        switch mode {
        case .append, .prepend:
            return self.join(value, appending: mode == .append, to: key, hash: hash, shard: shard, now: now)
        case .set, .add, .replace, .compareAndSwap:
            break
        }
        let expiresAt = KeyValueCacheExpiry.expiresAt(exptime: exptime, now: now)
        // Allocate and copy before taking the lock; an already expired item is never built.
        let prepared =
            KeyValueCacheExpiry.isExpired(expiresAt: expiresAt, now: now)
            ? nil : StoredItem.make(key: key, valueParts: value, flags: flags)
        let (outcome, _) = shard.withLockedValue {
            $0.store(mode, hash: hash, key: key, prepared: prepared, expiresAt: expiresAt, now: now)
        }
        return outcome
    }

    /// `append`/`prepend` without copying under the lock: read the current item, build the joined
    /// one unlocked, then swap it in if the item's CAS unique has not moved (else start again;
    /// a retry means another client's change went through, so this always ends).
    private func join(
        _ value: UnsafeRawBufferPointer,
        appending: Bool,
        to key: UnsafeRawBufferPointer,
        hash: UInt64,
        shard: AdaptiveLockedBox<KeyValueCacheShard>,
        now: Int64
    ) -> StoreOutcome {
        let maximumValueLength = self.configuration.maximumItemSize - Self.memcachedItemHeaderSize - key.count
        while true {
            let start = shard.withLockedValue {
                $0.beginJoin(
                    hash: hash,
                    key: key,
                    addedLength: value.count,
                    maximumValueLength: maximumValueLength,
                    now: now
                )
            }
            switch start {
            case .finished(let outcome, released: _):
                return outcome
            case .proceed(let current, let casUnique):
                let joined = current.withUnsafeValueBytes { currentValue in
                    appending
                        ? StoredItem.make(key: key, valueParts: currentValue, value, flags: current.flags)
                        : StoredItem.make(key: key, valueParts: value, currentValue, flags: current.flags)
                }
                let commit = shard.withLockedValue {
                    $0.commitJoin(hash: hash, key: key, expectedCASUnique: casUnique, joined: joined, now: now)
                }
                switch commit {
                case .finished(let outcome, released: _):
                    return outcome
                case .retry:
                    continue
                }
            }
        }
    }

    private func applyDelta(_ delta: UInt64, increment: Bool, key: ByteBuffer) -> DeltaOutcome {
        let now = self.clock.secondsSinceEpoch
        return key.withUnsafeReadableBytes { key in
            let hash = self.hasher.hash(key)
            let (outcome, _) = self.shard(for: hash).withLockedValue {
                $0.applyDelta(delta, increment: increment, hash: hash, key: key, now: now)
            }
            return outcome
        }
    }

    /// Every inconsistency in the shards' tables, LRU lists and accounting; empty when sound.
    func invariantViolations() -> [String] {
        self.shards.enumerated().flatMap { index, shard in
            shard.withLockedValue { $0.invariantViolations(hasher: self.hasher) }.map { "shard \(index): \($0)" }
        }
    }
}
