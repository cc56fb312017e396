import NIOCore
import Testing
@testable import QueueCore

@Suite("KeyValueCache stats counters")
struct KeyValueCacheStatisticsTests {
    let cache = KeyValueCacheTesting.makeCache()

    // The same commands on a fresh memcached 1.6.18 printed: cmd_get 2, cmd_set 4, cmd_flush 1,
    // cmd_touch 3, get_hits 2, get_misses 0, get_flushed 1, incr_misses 1, incr_hits 1,
    // cas_badval 1, touch_hits 2, touch_misses 1, curr_items 1, total_items 2, store_too_large 1.
    @Test func countersMatchMemcachedForTheSameCommands() {
        #expect(cache.store(.set, key: kvBuffer("a"), value: ByteBuffer(repeating: 97, count: 2_000_000), flags: 0, exptime: 0) == .tooLarge)
        #expect(cache.store(.append, "b", "x") == .notStored)
        cache.set("t", "x")
        #expect(cache.touch(kvBuffer("t"), exptime: 10) == .touched)
        cache.flushAll()
        #expect(cache.touch(kvBuffer("t"), exptime: 10) == .notFound)
        #expect(cache.increment(kvBuffer("t"), by: 1) == .notFound)
        cache.set("n", "10")
        #expect(cache.get("n")?.string == "10")
        #expect(cache.touch(kvBuffer("n"), exptime: 100) == .touched)
        #expect(cache.increment(kvBuffer("n"), by: 5) == .value(15))
        #expect(cache.get("n")?.string == "15")
        #expect(cache.store(.compareAndSwap(casUnique: 0), "n", "x") == .exists)

        let statistics = cache.statistics()
        #expect(statistics.commandGet == 2)
        #expect(statistics.commandSet == 4)
        #expect(statistics.commandFlush == 1)
        #expect(statistics.commandTouch == 3)
        #expect(statistics.getHits == 2)
        #expect(statistics.getMisses == 0)
        #expect(statistics.getFlushed == 1)
        #expect(statistics.incrementMisses == 1)
        #expect(statistics.incrementHits == 1)
        #expect(statistics.casBadValue == 1)
        #expect(statistics.touchHits == 2)
        #expect(statistics.touchMisses == 1)
        #expect(statistics.currentItems == 1)
        #expect(statistics.totalItems == 2)
        #expect(statistics.storeTooLarge == 1)
    }

    // memcached 1.6.18: set x; gat 10 x; gat 10 missing; gats 10 x missing ->
    // cmd_touch 4, touch_hits 2, touch_misses 2, cmd_get 0, get_hits 0.
    @Test func getAndTouchCountsAsTouchNotGet() {
        cache.set("x", "x")
        #expect(cache.getAndTouch(kvBuffer("x"), exptime: 10) != nil)
        #expect(cache.getAndTouch(kvBuffer("missing"), exptime: 10) == nil)
        #expect(cache.getAndTouch(kvBuffer("x"), exptime: 10) != nil)
        #expect(cache.getAndTouch(kvBuffer("missing"), exptime: 10) == nil)
        let statistics = cache.statistics()
        #expect(statistics.commandTouch == 4)
        #expect(statistics.touchHits == 2)
        #expect(statistics.touchMisses == 2)
        #expect(statistics.commandGet == 0)
        #expect(statistics.getHits == 0)
    }

    @Test func getCountersIncludeExpiredInMisses() {
        let clock = KeyValueCacheManualClock()
        let cache = KeyValueCacheTesting.makeCache(clock: clock)
        cache.set("k", "v", exptime: 1)
        #expect(cache.get("k") != nil)
        #expect(cache.get("nothing") == nil)
        clock.advance(by: 1)
        #expect(cache.get("k") == nil)
        let statistics = cache.statistics()
        #expect(statistics.commandGet == 3)
        #expect(statistics.getHits == 1)
        #expect(statistics.getMisses == 2)
        #expect(statistics.getExpired == 1)
        #expect(statistics.currentItems == 0)
    }
}
