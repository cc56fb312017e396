import Dispatch
import NIOCore
import TestSupport
import Testing
@testable import QueueCore

@Suite("KeyValueCache under concurrency")
struct KeyValueCacheConcurrencyTests {
    /// Runs `body(worker)` on `workers` threads at once and returns each worker's result, so the
    /// test checks them on its own thread (`#expect` on a Dispatch worker has no test to report to).
    func onThreads<Result: Sendable>(_ workers: Int, _ body: @Sendable (Int) -> Result) -> [Result] {
        let results = KeyValueCacheResultSlots<Result>(count: workers)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            results.set(worker, body(worker))
        }
        return results.values
    }

    @Test func randomOperationsOnSharedKeysKeepEveryInvariant() {
        let clock = KeyValueCacheManualClock()
        // Small enough that evictions happen all the time, two shards so keys collide in each.
        let cache = KeyValueCacheTesting.makeCache(memoryLimit: 64 * 1024, maximumItemSize: 4 * 1024, shardCount: 2, clock: clock)
        let soundReads = onThreads(8) { worker in
            var generator = SplitMix64(seed: UInt64(worker) + 1)
            var held: [KeyValueCache.Item] = []
            for _ in 0..<20_000 {
                let key = kvBuffer("key\(generator.next() % 97)")
                let value = ByteBuffer(repeating: UInt8(ascii: "1"), count: Int(generator.next() % 3_000))
                let exptime = Int64(generator.next() % 4) - 1  // -1, 0, 1, 2
                switch generator.next() % 16 {
                case 0, 1, 2: _ = cache.store(.set, key: key, value: value, flags: 1, exptime: exptime)
                case 3: _ = cache.store(.add, key: key, value: value, flags: 2, exptime: exptime)
                case 4: _ = cache.store(.replace, key: key, value: value, flags: 3, exptime: exptime)
                case 5: _ = cache.store(.append, key: key, value: kvBuffer("22"), flags: 0, exptime: 0)
                case 6: _ = cache.store(.prepend, key: key, value: kvBuffer("3"), flags: 0, exptime: 0)
                case 7:
                    let unique = cache.get(key)?.casUnique ?? 1
                    _ = cache.store(.compareAndSwap(casUnique: unique), key: key, value: value, flags: 4, exptime: 0)
                case 8: _ = cache.increment(key, by: generator.next() % 1_000)
                case 9: _ = cache.decrement(key, by: generator.next() % 1_000)
                case 10: _ = cache.delete(key)
                case 11: _ = cache.touch(key, exptime: exptime)
                case 12: _ = cache.getAndTouch(key, exptime: exptime)
                case 13:
                    if generator.next() % 50 == 0 { cache.flushAll(delay: Int64(generator.next() % 3)) }
                    if worker == 0 { clock.advance(by: 1) }
                default:
                    if let item = cache.get(key) {
                        // Keep a few items alive so incr/decr must copy rather than rewrite in place.
                        held.append(item)
                        if held.count > 8 { held.removeFirst() }
                    }
                }
            }
            // Items read earlier still hold what they held: digits and spaces only, never torn.
            return held.allSatisfy { item in
                item.withUnsafeValueBytes { value in
                    value.allSatisfy { $0 == UInt8(ascii: " ") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
                }
            }
        }
        #expect(soundReads == Array(repeating: true, count: 8))
        #expect(cache.invariantViolations() == [])
        let statistics = cache.statistics()
        #expect(statistics.bytes <= 64 * 1024)
        #expect(statistics.evictions > 0)
    }

    @Test func concurrentIncrementsAreNeverLost() {
        let cache = KeyValueCacheTesting.makeCache()
        cache.set("counter", "0")
        let outcomes = onThreads(4) { _ in
            (0..<5_000).allSatisfy { _ in
                _ = cache.get(kvBuffer("counter"))  // readers force the copy path now and then
                if case .value = cache.increment(kvBuffer("counter"), by: 1) { return true }
                return false
            }
        }
        #expect(outcomes == [true, true, true, true])
        #expect(cache.string("counter") == "20000")
        #expect(cache.invariantViolations() == [])
    }

    @Test func concurrentAppendsAreNeverLost() {
        let cache = KeyValueCacheTesting.makeCache()
        cache.set("log", "")
        let outcomes = onThreads(4) { worker in
            let mark = kvBuffer(String(worker))
            return (0..<1_000).allSatisfy { _ in
                cache.store(.append, key: kvBuffer("log"), value: mark, flags: 0, exptime: 0) == .stored
            }
        }
        #expect(outcomes == [true, true, true, true])
        let log = cache.string("log") ?? ""
        #expect(log.count == 4_000)
        for worker in 0..<4 {
            #expect(log.filter { $0 == Character(String(worker)) }.count == 1_000)
        }
        #expect(cache.invariantViolations() == [])
    }
}

/// One result slot per worker thread. Each thread writes only its own slot, and the slots are
/// read after `concurrentPerform` has returned, which orders every write before the reads.
final class KeyValueCacheResultSlots<Value: Sendable>: @unchecked Sendable {
    private let slots: UnsafeMutableBufferPointer<Value?>

    init(count: Int) {
        self.slots = .allocate(capacity: count)
        self.slots.initialize(repeating: nil)
    }

    deinit {
        self.slots.deinitialize()
        self.slots.deallocate()
    }

    func set(_ index: Int, _ value: Value) {
        self.slots[index] = value
    }

    var values: [Value] {
        self.slots.compactMap { $0 }
    }
}
