import NIOCore

extension KeyValueCache {
    /// How big the cache may grow and how finely it is locked.
    public struct Configuration: Sendable, Hashable {
        /// The most bytes the cache accounts for, summed over items (memcached's `-m`, in bytes).
        /// Each item counts as key + value + ``KeyValueCache/perItemOverhead``.
        public var memoryLimit: Int

        /// The largest item accepted (memcached's `-I`). As in memcached, an item is too large when
        /// key + value + 59 bytes of memcached's own item header exceed it, so with the 1 MiB
        /// default the largest value under a 1-byte key is 1,048,516 bytes, as on memcached 1.6.
        public var maximumItemSize: Int

        /// How many independently locked shards to use; rounded down to a power of two, and lowered
        /// further so each shard's share of `memoryLimit` still holds two items of the maximum size.
        public var shardCount: Int

        /// The defaults of `mc-db-server`: 64 MiB, 1 MiB items, 16 shards.
        public init(memoryLimit: Int = 64 << 20, maximumItemSize: Int = 1 << 20, shardCount: Int = 16) {
            self.memoryLimit = memoryLimit
            self.maximumItemSize = maximumItemSize
            self.shardCount = shardCount
        }
    }

    /// Which memcached storage command a ``KeyValueCache/store(_:key:value:flags:exptime:)`` is.
    public enum StoreMode: Sendable, Hashable {
        /// `set`: store unconditionally.
        case set
        /// `add`: store only if the key holds no live item.
        case add
        /// `replace`: store only if the key holds a live item.
        case replace
        /// `append`: add the bytes after the live item's value; its flags and expiry are kept.
        case append
        /// `prepend`: add the bytes before the live item's value; its flags and expiry are kept.
        case prepend
        /// `cas`: store only if the live item's CAS unique is still this one.
        case compareAndSwap(casUnique: UInt64)
    }

    /// What a store did, one case per memcached reply.
    public enum StoreOutcome: Sendable, Hashable {
        /// `STORED`
        case stored
        /// `NOT_STORED`: `add` found the key, `replace`/`append`/`prepend` did not, or the joined
        /// value of `append`/`prepend` would be too large.
        case notStored
        /// `EXISTS`: `cas` found the item changed since the client read it.
        case exists
        /// `NOT_FOUND`: `cas` found no live item.
        case notFound
        /// `SERVER_ERROR object too large for cache`. A failed `set` also removes the key's old
        /// value, as memcached does, so stale data cannot outlive a rejected update.
        case tooLarge
        /// `SERVER_ERROR out of memory storing object`: the item cannot fit in its shard even
        /// after evicting everything else (only when the memory limit is tiny).
        case outOfMemory
    }

    /// What `incr`/`decr` did.
    public enum DeltaOutcome: Sendable, Hashable {
        /// The new number (memcached replies with it, without the padding it stores).
        case value(UInt64)
        /// `NOT_FOUND`
        case notFound
        /// `CLIENT_ERROR cannot increment or decrement non-numeric value`
        case nonNumeric
        /// `SERVER_ERROR out of memory`: a longer number did not fit.
        case outOfMemory
    }

    /// What `delete` did.
    public enum DeleteOutcome: Sendable, Hashable {
        /// `DELETED`
        case deleted
        /// `NOT_FOUND`
        case notFound
    }

    /// What `touch` did.
    public enum TouchOutcome: Sendable, Hashable {
        /// `TOUCHED`
        case touched
        /// `NOT_FOUND`
        case notFound
    }

    /// A live item as a read returned it. Holding it keeps the stored bytes alive, not the cache
    /// entry: a later store or eviction does not change what this value holds.
    ///
    /// `@unchecked Sendable`: it holds a ``StoredItem``, whose bytes nobody changes while a
    /// reader can see them.
    public struct Item: @unchecked Sendable {
        let storage: StoredItem

        /// The item's CAS unique (what `gets` prints). Never 0.
        public let casUnique: UInt64

        /// The client's 32-bit flags.
        public var flags: UInt32 { self.storage.flags }

        /// How many bytes the value has.
        public var valueLength: Int { self.storage.valueLength }

        /// Calls `body` with the value's bytes, which are shared with the cache, not copied.
        /// The pointer is valid only inside `body`.
        public func withUnsafeValueBytes<Result>(
            _ body: (UnsafeRawBufferPointer) throws -> Result
        ) rethrows -> Result {
            try self.storage.withUnsafeValueBytes(body)
        }

        /// A copy of the value in a new buffer. To send a value, prefer
        /// `ByteBuffer.writeValue(of:)`, which copies straight into the reply buffer.
        public func valueBuffer(allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
            self.storage.withUnsafeValueBytes { bytes in
                var buffer = allocator.buffer(capacity: bytes.count)
                buffer.writeBytes(bytes)
                return buffer
            }
        }
    }

    /// The cache's counters, named after the lines of memcached's `stats` they feed.
    public struct Statistics: Sendable, Hashable {
        /// `curr_items`: items held, including expired or flushed ones not yet reclaimed.
        public var currentItems: UInt64 = 0
        /// `total_items`: items ever stored (incr/decr count when they had to make a longer item).
        public var totalItems: UInt64 = 0
        /// `bytes`: accounted bytes of the items held (key + value + per-item overhead each).
        public var bytes: UInt64 = 0
        /// `limit_maxbytes`: the configured memory limit.
        public var limitMaxBytes: UInt64 = 0
        /// `evictions`: live items dropped to make room.
        public var evictions: UInt64 = 0
        /// `evicted_unfetched`: evicted items that were never read.
        public var evictedUnfetched: UInt64 = 0
        /// `expired_unfetched`: expired or flushed items reclaimed without ever being read.
        public var expiredUnfetched: UInt64 = 0
        /// `reclaimed`: expired or flushed items whose memory was taken back from the LRU tail.
        public var reclaimed: UInt64 = 0
        /// `get_hits`
        public var getHits: UInt64 = 0
        /// `get_misses` (includes `get_expired` and `get_flushed`)
        public var getMisses: UInt64 = 0
        /// `get_expired`: lookups (by any command, as memcached's `do_item_get`) that met an expired item.
        public var getExpired: UInt64 = 0
        /// `get_flushed`: lookups (by any command) that met an item killed by `flush_all`.
        public var getFlushed: UInt64 = 0
        /// `delete_hits`
        public var deleteHits: UInt64 = 0
        /// `delete_misses`
        public var deleteMisses: UInt64 = 0
        /// `incr_hits`
        public var incrementHits: UInt64 = 0
        /// `incr_misses`
        public var incrementMisses: UInt64 = 0
        /// `decr_hits`
        public var decrementHits: UInt64 = 0
        /// `decr_misses`
        public var decrementMisses: UInt64 = 0
        /// `cas_hits`
        public var casHits: UInt64 = 0
        /// `cas_misses`: `cas` on a key with no live item.
        public var casMisses: UInt64 = 0
        /// `cas_badval`: `cas` with a stale unique.
        public var casBadValue: UInt64 = 0
        /// `touch_hits` (`touch`, `gat`, `gats`)
        public var touchHits: UInt64 = 0
        /// `touch_misses`
        public var touchMisses: UInt64 = 0
        /// `cmd_get`: keys looked up by `get`/`gets` (not `gat`, as memcached).
        public var commandGet: UInt64 = 0
        /// `cmd_set`: storage commands that reached the cache (not those rejected as too large).
        public var commandSet: UInt64 = 0
        /// `cmd_touch`: keys of `touch`, `gat`, `gats`.
        public var commandTouch: UInt64 = 0
        /// `cmd_flush`
        public var commandFlush: UInt64 = 0
        /// `store_too_large`
        public var storeTooLarge: UInt64 = 0
        /// `store_no_memory`
        public var storeNoMemory: UInt64 = 0

        /// All zero.
        public init() {}

        /// Adds every counter of `other` to this one's.
        mutating func accumulate(_ other: Statistics) {
            self.currentItems += other.currentItems
            self.totalItems += other.totalItems
            self.bytes += other.bytes
            self.limitMaxBytes += other.limitMaxBytes
            self.evictions += other.evictions
            self.evictedUnfetched += other.evictedUnfetched
            self.expiredUnfetched += other.expiredUnfetched
            self.reclaimed += other.reclaimed
            self.getHits += other.getHits
            self.getMisses += other.getMisses
            self.getExpired += other.getExpired
            self.getFlushed += other.getFlushed
            self.deleteHits += other.deleteHits
            self.deleteMisses += other.deleteMisses
            self.incrementHits += other.incrementHits
            self.incrementMisses += other.incrementMisses
            self.decrementHits += other.decrementHits
            self.decrementMisses += other.decrementMisses
            self.casHits += other.casHits
            self.casMisses += other.casMisses
            self.casBadValue += other.casBadValue
            self.touchHits += other.touchHits
            self.touchMisses += other.touchMisses
            self.commandGet += other.commandGet
            self.commandSet += other.commandSet
            self.commandTouch += other.commandTouch
            self.commandFlush += other.commandFlush
            self.storeTooLarge += other.storeTooLarge
            self.storeNoMemory += other.storeNoMemory
        }
    }
}

extension ByteBuffer {
    /// Appends the value of `item` (one copy, from the cache's storage into this buffer).
    ///
    /// - Returns: The number of bytes written.
    @discardableResult
    public mutating func writeValue(of item: KeyValueCache.Item) -> Int {
        item.withUnsafeValueBytes { self.writeBytes($0) }
    }
}
