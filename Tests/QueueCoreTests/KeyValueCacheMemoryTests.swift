import NIOCore
import TestSupport
import Testing
@testable import QueueCore

@Suite("KeyValueCache memory bound and LRU")
struct KeyValueCacheMemoryTests {
    let clock = KeyValueCacheManualClock(secondsSinceEpoch: KeyValueCacheTesting.start)
    /// Keys "k0"… and 10-byte values: each item accounts for 2 + 10 + overhead bytes.
    static let itemBytes = 2 + 10 + KeyValueCache.perItemOverhead
    static let tenBytes = "0123456789"

    /// A single shard with room for exactly `items` of those items.
    func cache(holding items: Int) -> KeyValueCache {
        KeyValueCacheTesting.makeCache(memoryLimit: items * Self.itemBytes, shardCount: 1, clock: clock)
    }

    func held(_ cache: KeyValueCache, _ keys: ClosedRange<Int>) -> [Int] {
        // Statistics-only probing would not say which; get() bumps, so call this once, at the end.
        keys.filter { cache.get("k\($0)") != nil }
    }

    @Test func perItemOverheadMatchesTheDocumentedLayout() {
        #expect(MemoryLayout<KeyValueCacheShard.Entry>.stride == 48)
        #expect(KeyValueCache.perItemOverhead == 100)
        let cache = KeyValueCacheTesting.makeCache()
        cache.set("abc", Self.tenBytes)
        #expect(cache.statistics().bytes == UInt64(3 + 10 + 100))
    }

    @Test func evictsLeastRecentlyUsedFirstAndAGetMakesAnItemRecent() {
        let cache = self.cache(holding: 5)
        for index in 0...4 { cache.set("k\(index)", Self.tenBytes) }
        #expect(cache.statistics().evictions == 0)
        #expect(cache.get("k0") != nil)  // k0 is now the most recent; k1 the least
        cache.set("k5", Self.tenBytes)
        cache.set("k6", Self.tenBytes)
        let statistics = cache.statistics()
        #expect(statistics.evictions == 2)
        #expect(statistics.evictedUnfetched == 2)
        #expect(statistics.currentItems == 5)
        #expect(held(cache, 0...6) == [0, 3, 4, 5, 6])
    }

    @Test func touchAndOverwriteAlsoMakeItemsRecent() {
        let cache = self.cache(holding: 3)
        for index in 0...2 { cache.set("k\(index)", Self.tenBytes) }
        #expect(cache.touch(kvBuffer("k0"), exptime: 0) == .touched)
        cache.set("k1", Self.tenBytes)
        cache.set("k3", Self.tenBytes)  // evicts k2, the least recently used
        #expect(held(cache, 0...3) == [0, 1, 3])
    }

    @Test func expiredItemsAreReclaimedBeforeLiveOnesAreEvicted() {
        let cache = self.cache(holding: 3)
        cache.set("k0", Self.tenBytes)
        cache.set("k1", Self.tenBytes, exptime: 5)
        cache.set("k2", Self.tenBytes)
        clock.advance(by: 5)
        cache.set("k3", Self.tenBytes)
        let statistics = cache.statistics()
        #expect(statistics.evictions == 0)
        #expect(statistics.reclaimed == 1)
        #expect(statistics.expiredUnfetched == 1)
        #expect(held(cache, 0...3) == [0, 2, 3])
    }

    @Test func aGrowingAppendEvictsOthersButNeverItself() {
        let cache = self.cache(holding: 3)
        for index in 0...2 { cache.set("k\(index)", Self.tenBytes) }
        #expect(cache.store(.append, "k0", Self.tenBytes) == .stored)
        #expect(cache.statistics().evictions == 1)
        #expect(cache.string("k0") == Self.tenBytes + Self.tenBytes)
        #expect(cache.invariantViolations().isEmpty)
    }

    @Test func accountedBytesNeverExceedTheLimit() {
        let limit = 256 * 1024
        let cache = KeyValueCacheTesting.makeCache(memoryLimit: limit, maximumItemSize: 16 * 1024, shardCount: 4, clock: clock)
        #expect(cache.shardCount == 4)
        var generator = SplitMix64(seed: 7)
        for step in 0..<5_000 {
            let key = "key\(generator.next() % 2_000)"
            let length = Int(generator.next() % 9_000)
            #expect(cache.store(.set, key: kvBuffer(key), value: ByteBuffer(repeating: 1, count: length), flags: 0, exptime: 0) == .stored)
            if step % 500 == 0 {
                #expect(cache.invariantViolations().isEmpty)
            }
            #expect(cache.statistics().bytes <= UInt64(limit))
        }
        let statistics = cache.statistics()
        #expect(statistics.evictions > 0)
        #expect(statistics.bytes <= UInt64(limit))
        #expect(statistics.limitMaxBytes == UInt64(limit))
        #expect(cache.invariantViolations().isEmpty)
    }

    @Test func anItemLargerThanAShardIsOutOfMemoryAndASetDropsTheOldValue() {
        let cache = KeyValueCacheTesting.makeCache(memoryLimit: 1_000, shardCount: 1, clock: clock)
        cache.set("k", "small")
        let big = ByteBuffer(repeating: 1, count: 1_000)
        #expect(cache.store(.set, key: kvBuffer("k"), value: big, flags: 0, exptime: 0) == .outOfMemory)
        #expect(cache.get("k") == nil)
        #expect(cache.statistics().storeNoMemory == 1)
    }

    @Test func shardCountIsAPowerOfTwoThatLeavesRoomForTwoMaximumItems() {
        #expect(KeyValueCacheTesting.makeCache(shardCount: 12).shardCount == 8)
        #expect(KeyValueCacheTesting.makeCache(shardCount: 16).shardCount == 16)
        #expect(KeyValueCacheTesting.makeCache(memoryLimit: 4 << 20, shardCount: 16).shardCount == 2)
        #expect(KeyValueCacheTesting.makeCache(memoryLimit: 1 << 20, shardCount: 16).shardCount == 1)
        let cache = KeyValueCacheTesting.makeCache(memoryLimit: 4 << 20, shardCount: 16)
        #expect(cache.shardMemoryLimit == 2 << 20)
        // The largest item memcached would accept fits.
        let largest = ByteBuffer(repeating: 1, count: (1 << 20) - 59 - 1)
        #expect(cache.store(.set, key: kvBuffer("k"), value: largest, flags: 0, exptime: 0) == .stored)
    }
}
