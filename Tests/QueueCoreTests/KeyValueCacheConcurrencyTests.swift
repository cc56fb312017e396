import Dispatch
import NIOCore
import Testing
@testable import QueueCore

@Suite("KeyValueCache under concurrency")
struct KeyValueCacheConcurrencyTests {
    /// Runs `body(worker)` on `workers` threads at once.
    func onThreads(_ workers: Int, _ body: @Sendable (Int) -> Void) {
        DispatchQueue.concurrentPerform(iterations: workers, execute: body)
    }

    @Test func randomOperationsOnSharedKeysKeepEveryInvariant() {
        let clock = KeyValueCacheManualClock()
        // Small enough that evictions happen all the time, two shards so keys collide in each.
        let cache = KeyValueCacheTesting.makeCache(memoryLimit: 64 * 1024, maximumItemSize: 4 * 1024, shardCount: 2, clock: clock)
        onThreads(8) { worker in
            var generator = SplitMix64(seed: UInt64(worker) + 1)
            var held: [KeyValueCache.Item] = []
            for _ in 0..<20_000 {
                let key = bytes("key\(generator.next() % 97)")
                let value = ByteBuffer(repeating: UInt8(ascii: "1"), count: Int(generator.next() % 3_000))
                let exptime = Int64(generator.next() % 4) - 1  // -1, 0, 1, 2
                switch generator.next() % 16 {
                case 0, 1, 2: _ = cache.store(.set, key: key, value: value, flags: 1, exptime: exptime)
                case 3: _ = cache.store(.add, key: key, value: value, flags: 2, exptime: exptime)
                case 4: _ = cache.store(.replace, key: key, value: value, flags: 3, exptime: exptime)
                case 5: _ = cache.store(.append, key: key, value: bytes("22"), flags: 0, exptime: 0)
                case 6: _ = cache.store(.prepend, key: key, value: bytes("3"), flags: 0, exptime: 0)
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
            // Items read earlier still hold whatever they held: all bytes are digits or spaces.
            for item in held {
                let sound = item.withUnsafeValueBytes { value in
                    value.allSatisfy { $0 == UInt8(ascii: "1") || $0 == UInt8(ascii: "2") || $0 == UInt8(ascii: "3") || $0 == UInt8(ascii: " ") || (48...57).contains($0) }
                }
                #expect(sound)
            }
        }
        #expect(cache.invariantViolations() == [])
        let statistics = cache.statistics()
        #expect(statistics.bytes <= 64 * 1024)
        #expect(statistics.evictions > 0)
    }

    @Test func concurrentIncrementsAreNeverLost() {
        let cache = KeyValueCacheTesting.makeCache()
        cache.set("counter", "0")
        onThreads(4) { _ in
            for _ in 0..<5_000 {
                _ = cache.increment(bytes("counter"), by: 1)
                _ = cache.get(bytes("counter"))  // readers force the copy path now and then
            }
        }
        #expect(cache.string("counter") == "20000")
        #expect(cache.invariantViolations() == [])
    }

    @Test func concurrentAppendsAreNeverLost() {
        let cache = KeyValueCacheTesting.makeCache()
        cache.set("log", "")
        onThreads(4) { worker in
            let mark = bytes(String(worker))
            for _ in 0..<1_000 {
                #expect(cache.store(.append, key: bytes("log"), value: mark, flags: 0, exptime: 0) == .stored)
            }
        }
        let log = cache.string("log") ?? ""
        #expect(log.count == 4_000)
        for worker in 0..<4 {
            #expect(log.filter { $0 == Character(String(worker)) }.count == 1_000)
        }
        #expect(cache.invariantViolations() == [])
    }
}
