import NIOCore
import Testing
@testable import QueueCore

@Suite("KeyValueCache expiry and flush_all")
struct KeyValueCacheExpiryTests {
    let clock = KeyValueCacheManualClock(secondsSinceEpoch: KeyValueCacheTesting.start)
    let cache: KeyValueCache
    let start = KeyValueCacheTesting.start

    init() {
        self.cache = KeyValueCacheTesting.makeCache(clock: self.clock)
    }

    @Test func zeroNeverExpires() {
        cache.set("k", "v", exptime: 0)
        clock.advance(by: 10 * 365 * 86_400)
        #expect(cache.string("k") == "v")
    }

    @Test func relativeSecondsExpireAtNowPlusExptime() {
        cache.set("k", "v", exptime: 10)
        clock.advance(by: 9)
        #expect(cache.string("k") == "v")
        clock.advance(by: 1)
        #expect(cache.get("k") == nil)
        #expect(cache.statistics().getExpired == 1)
    }

    // memcached 1.6.18: exptime 2592000 is relative (visible), 2592001 is a Unix time in 1970 (gone).
    @Test func thirtyDaysIsTheLastRelativeExptime() {
        cache.set("relative", "v", exptime: 2_592_000)
        #expect(cache.set("absolute", "v", exptime: 2_592_001) == .stored)
        #expect(cache.string("relative") == "v")
        #expect(cache.get("absolute") == nil)
        clock.advance(by: 2_592_000 - 1)
        #expect(cache.string("relative") == "v")
        clock.advance(by: 1)
        #expect(cache.get("relative") == nil)
    }

    @Test func absoluteTimesExpireAtThatSecond() {
        cache.set("future", "v", exptime: start + 100)
        #expect(cache.set("past", "v", exptime: start - 100) == .stored)
        #expect(cache.set("now", "v", exptime: start) == .stored)
        #expect(cache.get("past") == nil)
        #expect(cache.get("now") == nil)
        clock.set(to: start + 99)
        #expect(cache.string("future") == "v")
        clock.set(to: start + 100)
        #expect(cache.get("future") == nil)
    }

    // memcached 1.6.18: `set neg 0 -1 1` -> STORED, `get neg` -> END, then `add neg` -> STORED.
    @Test func negativeExptimeStoresAnInvisibleItem() {
        cache.set("neg", "old")
        #expect(cache.set("neg", "x", exptime: -1) == .stored)
        #expect(cache.get("neg") == nil)
        #expect(cache.store(.add, "neg", "y") == .stored)
        #expect(cache.string("neg") == "y")
        #expect(cache.statistics().totalItems == 3)
    }

    @Test func touchExtendsExpiryWithoutChangingCAS() {
        cache.set("k", "v", exptime: 10)
        let unique = cache.get("k")!.casUnique
        clock.advance(by: 5)
        #expect(cache.touch(kvBuffer("k"), exptime: 100) == .touched)
        #expect(cache.get("k")?.casUnique == unique)
        clock.advance(by: 99)
        #expect(cache.string("k") == "v")
        clock.advance(by: 1)
        #expect(cache.get("k") == nil)
        #expect(cache.touch(kvBuffer("k"), exptime: 100) == .notFound)
    }

    // memcached 1.6.18: `touch tneg -1` -> TOUCHED, then `get tneg` -> END.
    @Test func touchWithNegativeExptimeExpiresTheItem() {
        cache.set("k", "v")
        #expect(cache.touch(kvBuffer("k"), exptime: -1) == .touched)
        #expect(cache.get("k") == nil)
    }

    @Test func touchCanMakeAnItemPermanent() {
        cache.set("k", "v", exptime: 10)
        #expect(cache.touch(kvBuffer("k"), exptime: 0) == .touched)
        clock.advance(by: 1_000)
        #expect(cache.string("k") == "v")
    }

    // memcached 1.6.18: `gat 300 t` / `gats 300 t` return the value with the same CAS unique;
    // `gat -1 gneg` returns the value once, then `get gneg` -> END.
    @Test func getAndTouchReturnsTheItemThenAppliesTheNewExpiry() {
        cache.set("k", "v", flags: 7, exptime: 10)
        let unique = cache.get("k")!.casUnique
        let touched = cache.getAndTouch(kvBuffer("k"), exptime: 300)
        #expect(touched?.string == "v")
        #expect(touched?.flags == 7)
        #expect(touched?.casUnique == unique)
        clock.advance(by: 299)
        #expect(cache.string("k") == "v")
        #expect(cache.getAndTouch(kvBuffer("k"), exptime: -1)?.string == "v")
        #expect(cache.get("k") == nil)
        #expect(cache.getAndTouch(kvBuffer("k"), exptime: 10) == nil)
    }

    @Test func expiredItemsBehaveAsMissingForEveryCommand() {
        for key in ["cas", "replace", "append", "incr", "delete", "add"] {
            cache.set(key, "1", exptime: 1)
        }
        clock.advance(by: 1)
        #expect(cache.store(.compareAndSwap(casUnique: 1), "cas", "x") == .notFound)
        #expect(cache.store(.replace, "replace", "x") == .notStored)
        #expect(cache.store(.append, "append", "x") == .notStored)
        #expect(cache.increment(kvBuffer("incr"), by: 1) == .notFound)
        #expect(cache.delete(kvBuffer("delete")) == .notFound)
        #expect(cache.store(.add, "add", "x") == .stored)
        let statistics = cache.statistics()
        #expect(statistics.getExpired == 6)
        #expect(statistics.currentItems == 1)
    }

    @Test func flushAllHidesEverythingStoredBefore() {
        cache.set("a", "1")
        cache.set("b", "2")
        cache.flushAll()
        #expect(cache.get("a") == nil)
        #expect(cache.store(.compareAndSwap(casUnique: 1), "b", "x") == .notFound)
        // Same second, after the flush: kept (memcached tracks this with its oldest_cas too).
        cache.set("c", "3")
        #expect(cache.string("c") == "3")
        #expect(cache.store(.add, "a", "again") == .stored)
        #expect(cache.string("a") == "again")
        let statistics = cache.statistics()
        #expect(statistics.commandFlush == 1)
        #expect(statistics.getFlushed == 2)
    }

    // memcached 1.6.18: `flush_all 3` empties the cache two seconds later (oldest_live =
    // realtime(3) - 1); items set between the command and that moment go too.
    @Test func delayedFlushTakesEffectDelayMinusOneSecondsLater() {
        cache.set("before", "v")
        cache.flushAll(delay: 10)
        clock.advance(by: 5)
        cache.set("during", "v")
        clock.advance(by: 3)
        #expect(cache.string("before") == "v")
        #expect(cache.string("during") == "v")
        clock.advance(by: 1)
        #expect(cache.get("before") == nil)
        #expect(cache.get("during") == nil)
        cache.set("after", "v")
        clock.advance(by: 100)
        #expect(cache.string("after") == "v")
    }

    @Test(arguments: [Int64(0), 1, -5])
    func flushWithZeroOneOrNegativeDelayIsImmediate(delay: Int64) {
        cache.set("k", "v")
        cache.flushAll(delay: delay)
        #expect(cache.get("k") == nil)
    }

    @Test func aLaterFlushReplacesAPendingOne() {
        cache.set("k", "v")
        cache.flushAll(delay: 10)
        cache.flushAll(delay: 100)
        clock.advance(by: 50)
        #expect(cache.string("k") == "v")
        clock.advance(by: 49)
        #expect(cache.get("k") == nil)
    }

    @Test func anImmediateFlushCancelsAPendingOne() {
        cache.set("old", "v")
        cache.flushAll(delay: 10)
        cache.flushAll()
        #expect(cache.get("old") == nil)
        clock.advance(by: 1)
        cache.set("new", "v")
        clock.advance(by: 100)
        #expect(cache.string("new") == "v")
    }

    @Test func flushDelayOverThirtyDaysIsAUnixTime() {
        cache.set("k", "v")
        cache.flushAll(delay: start + 50)
        clock.advance(by: 48)
        #expect(cache.string("k") == "v")
        clock.advance(by: 1)
        #expect(cache.get("k") == nil)
    }

    // memcached 1.6.18 dates its start 62 seconds early; a Unix time after that flushes at once.
    @Test func flushAtAUnixTimeInThePastSinceTheStartIsImmediate() {
        clock.advance(by: 1000)
        cache.set("k", "v")
        cache.flushAll(delay: start - 60)
        #expect(cache.get("k") == nil)
    }

    // memcached 1.6.18: `flush_all 1000000000` answers OK, flushes nothing and drops a pending flush.
    @Test func flushAtAUnixTimeBeforeTheStartOnlyCancelsAPendingOne() {
        cache.set("k", "v")
        cache.flushAll(delay: 10)
        cache.flushAll(delay: 1_000_000_000)
        clock.advance(by: 100)
        #expect(cache.string("k") == "v")
        cache.flushAll(delay: start - 61)
        #expect(cache.string("k") == "v")
        #expect(cache.statistics().commandFlush == 3)
    }

    @Test func flushedItemsAreReclaimedAsTheCacheIsUsed() {
        let cache = KeyValueCacheTesting.makeCache(shardCount: 1, clock: clock)
        for index in 0..<100 { cache.set("old\(index)", "v") }
        cache.flushAll()
        #expect(cache.statistics().currentItems == 100)
        for index in 0..<100 { cache.set("new\(index)", "v") }
        // Each store takes back one dead item from the LRU tail.
        let statistics = cache.statistics()
        #expect(statistics.currentItems == 100)
        #expect(statistics.reclaimed == 100)
        #expect(statistics.expiredUnfetched == 100)
        #expect(cache.invariantViolations().isEmpty)
    }
}
