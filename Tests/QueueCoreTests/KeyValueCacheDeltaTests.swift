import NIOCore
import Testing
@testable import QueueCore

@Suite("KeyValueCache incr and decr")
struct KeyValueCacheDeltaTests {
    let clock = KeyValueCacheManualClock(secondsSinceEpoch: KeyValueCacheTesting.start)
    let cache: KeyValueCache

    init() {
        self.cache = KeyValueCacheTesting.makeCache(clock: self.clock)
    }

    struct Case: CustomTestStringConvertible, Sendable {
        let stored: [UInt8]
        let increment: Bool
        let delta: UInt64
        let reply: UInt64
        let after: String
        var testDescription: String {
            "\(increment ? "incr" : "decr") \(String(decoding: stored, as: UTF8.self).debugDescription) by \(delta)"
        }
        init(_ stored: String, _ increment: Bool, _ delta: UInt64, _ reply: UInt64, _ after: String) {
            self.stored = Array(stored.utf8)
            self.increment = increment
            self.delta = delta
            self.reply = reply
            self.after = after
        }
        init(bytes: [UInt8], _ increment: Bool, _ delta: UInt64, _ reply: UInt64, _ after: String) {
            self.stored = bytes
            self.increment = increment
            self.delta = delta
            self.reply = reply
            self.after = after
        }
    }

    // Each line is what memcached 1.6.18 replied and then returned for `gets`, e.g.
    // `set a 5 0 2 / 10`, `decr a 1` -> `9`, `gets a` -> `VALUE a 5 2 2 / 9 `.
    static let observedOnMemcached: [Case] = [
        Case("10", false, 1, 9, "9 "),
        Case("9 ", true, 1, 10, "10"),
        Case("10", true, 95, 105, "105"),
        Case("9", true, 1, 10, "10"),
        Case("18446744073709551615", true, 1, 0, "0" + String(repeating: " ", count: 19)),
        Case("0                   ", true, 18_446_744_073_709_551_615, 18_446_744_073_709_551_615, "18446744073709551615"),
        Case("5", false, 10, 0, "0"),
        Case("-0", true, 1, 1, "1 "),
        Case("5 abc", true, 1, 6, "6    "),
        Case(" 5", true, 1, 6, "6 "),
        Case("+5", true, 1, 6, "6 "),
        Case("018446744073709551615", true, 0, 18_446_744_073_709_551_615, "18446744073709551615 "),
        Case("0000000000000000000000007", true, 1, 8, "8" + String(repeating: " ", count: 24)),
        Case("5\t ", true, 1, 6, "6  "),
        Case("5\n", true, 1, 6, "6 "),
        Case("-18446744073709551615", true, 0, 1, "1" + String(repeating: " ", count: 20)),
        Case(bytes: Array("5".utf8) + [0] + Array("abc".utf8), true, 1, 6, "6    "),
        Case("\u{0B}\u{0C}9", true, 1, 10, "10 "),
        Case(String(repeating: "0", count: 200) + "5", true, 1, 6, "6" + String(repeating: " ", count: 200)),
        Case("7" + String(repeating: " ", count: 300), false, 1, 6, "6" + String(repeating: " ", count: 300)),
    ]

    @Test(arguments: observedOnMemcached)
    func storedBytesMatchMemcached(_ example: Case) {
        #expect(cache.store(.set, key: kvBuffer("n"), value: kvBuffer(example.stored), flags: 5, exptime: 0) == .stored)
        let before = cache.get("n")!.casUnique
        let outcome =
            example.increment
            ? cache.increment(kvBuffer("n"), by: example.delta) : cache.decrement(kvBuffer("n"), by: example.delta)
        #expect(outcome == .value(example.reply))
        let after = cache.get("n")!
        #expect(after.string == example.after)
        #expect(after.flags == 5)
        #expect(after.casUnique != before)
        #expect(cache.invariantViolations().isEmpty)
    }

    // memcached 1.6.18 answered "CLIENT_ERROR cannot increment or decrement non-numeric value"
    // for each of these and left the value as it was.
    @Test(arguments: ["abc", "", "-5", " -5", "18446744073709551616", "5x", " ", "+", "0x10"])
    func nonNumericValuesAreRefusedAndKept(_ stored: String) {
        cache.set("n", stored)
        let before = cache.get("n")!.casUnique
        #expect(cache.increment(kvBuffer("n"), by: 1) == .nonNumeric)
        #expect(cache.decrement(kvBuffer("n"), by: 1) == .nonNumeric)
        #expect(cache.string("n") == stored)
        #expect(cache.get("n")!.casUnique == before)
        let statistics = cache.statistics()
        #expect(statistics.incrementHits == 0)
        #expect(statistics.decrementHits == 0)
    }

    @Test func missingKeyIsNotFound() {
        #expect(cache.increment(kvBuffer("zz"), by: 1) == .notFound)
        #expect(cache.decrement(kvBuffer("zz"), by: 1) == .notFound)
        let statistics = cache.statistics()
        #expect(statistics.incrementMisses == 1)
        #expect(statistics.decrementMisses == 1)
    }

    @Test func incrementWrapsAtTwoToTheSixtyFour() {
        cache.set("n", "18446744073709551610")
        #expect(cache.increment(kvBuffer("n"), by: 10) == .value(4))
    }

    @Test func decrementStopsAtZero() {
        cache.set("n", "3")
        #expect(cache.decrement(kvBuffer("n"), by: 2) == .value(1))
        #expect(cache.decrement(kvBuffer("n"), by: 2) == .value(0))
        #expect(cache.decrement(kvBuffer("n"), by: UInt64.max) == .value(0))
        #expect(cache.string("n") == "0")
    }

    // memcached 1.6.18: `set n 0 2 2 / 99`, `incr n 1` -> 100, three seconds later `get n` -> END.
    @Test func expiryIsKeptWhenTheValueGrows() {
        cache.set("n", "99", exptime: 10)
        #expect(cache.increment(kvBuffer("n"), by: 1) == .value(100))
        clock.advance(by: 9)
        #expect(cache.string("n") == "100")
        clock.advance(by: 1)
        #expect(cache.get("n") == nil)
    }

    @Test func onlyAGrowingValueCountsAsANewItem() {
        cache.set("n", "10")
        #expect(cache.decrement(kvBuffer("n"), by: 1) == .value(9))  // "9 " in place
        #expect(cache.increment(kvBuffer("n"), by: 1) == .value(10))  // "10" in place
        #expect(cache.statistics().totalItems == 1)
        #expect(cache.increment(kvBuffer("n"), by: 90) == .value(100))  // "100": a longer value
        #expect(cache.statistics().totalItems == 2)
        #expect(cache.statistics().bytes == UInt64(1 + 3 + KeyValueCache.perItemOverhead))
    }

    @Test func aReaderHoldingTheValueNeverSeesItChange() {
        cache.set("n", "10")
        let held = cache.get("n")!
        #expect(cache.decrement(kvBuffer("n"), by: 1) == .value(9))
        #expect(held.string == "10")
        #expect(cache.string("n") == "9 ")
        // Nobody holds it now: rewritten in place, and still correct.
        #expect(cache.increment(kvBuffer("n"), by: 5) == .value(14))
        #expect(cache.string("n") == "14")
    }

    @Test func memccapableIncrAndDecrLoops() {
        // libmemcached's memccapable: add with "0" then 100 increments; decr from 9 down past 0.
        #expect(cache.store(.add, "counter", "0") == .stored)
        for expected in UInt64(1)...100 {
            #expect(cache.increment(kvBuffer("counter"), by: 1) == .value(expected))
        }
        cache.set("down", "9")
        for expected in (0...8).reversed() {
            #expect(cache.decrement(kvBuffer("down"), by: 1) == .value(UInt64(expected)))
        }
        #expect(cache.decrement(kvBuffer("down"), by: 1) == .value(0))
    }
}

@Suite("KeyValueCacheDelta number reading")
struct KeyValueCacheDeltaParsingTests {
    @Test(arguments: [
        ("0", UInt64(0)), ("42", 42), ("  42", 42), ("\t\n42", 42), ("42  ", 42), ("42\r\n", 42),
        ("18446744073709551615", .max), ("-0", 0), ("+7", 7), ("007", 7),
    ])
    func readsNumbersAsStrtoull(_ text: String, _ expected: UInt64) {
        let value = Array(text.utf8).withUnsafeBytes { KeyValueCacheDelta.number(in: $0) }
        #expect(value == expected)
    }

    @Test(arguments: ["", " ", "-", "+", "- 5", "4a", "18446744073709551616", "-1", "-9223372036854775808"])
    func refusesWhatMemcachedRefuses(_ text: String) {
        let value = Array(text.utf8).withUnsafeBytes { KeyValueCacheDelta.number(in: $0) }
        #expect(value == nil)
    }

    @Test func writesDigitsPaddedWithSpaces() {
        var storage = [UInt8](repeating: 0, count: 6)
        storage.withUnsafeMutableBytes { KeyValueCacheDelta.write(1234, paddedInto: $0) }
        #expect(String(decoding: storage, as: UTF8.self) == "1234  ")
        storage.withUnsafeMutableBytes { KeyValueCacheDelta.write(0, paddedInto: $0) }
        #expect(String(decoding: storage, as: UTF8.self) == "0     ")
        #expect(KeyValueCacheDelta.digitCount(UInt64.max) == 20)
        #expect(KeyValueCacheDelta.digitCount(9) == 1)
        #expect(KeyValueCacheDelta.digitCount(10) == 2)
    }
}
