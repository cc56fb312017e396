import NIOCore
import Testing
@testable import QueueCore

@Suite("KeyValueCache storage commands")
struct KeyValueCacheStoreTests {
    let cache = KeyValueCacheTesting.makeCache()

    @Test func setThenGetReturnsValueFlagsAndCAS() {
        #expect(cache.set("greeting", "hello", flags: 42) == .stored)
        let item = cache.get("greeting")
        #expect(item?.string == "hello")
        #expect(item?.flags == 42)
        #expect(item?.valueLength == 5)
        #expect(item.map { $0.casUnique != 0 } == true)
        #expect(cache.get("nothing") == nil)
    }

    @Test func everySetGivesAFreshCASUnique() {
        cache.set("k", "1")
        let first = cache.get("k")!.casUnique
        cache.set("k", "1")
        let second = cache.get("k")!.casUnique
        #expect(first != second)
        // A read does not change it.
        #expect(cache.get("k")!.casUnique == second)
    }

    @Test func casUniquesDifferAcrossKeysAndShards() {
        var seen = Set<UInt64>()
        for index in 0..<500 {
            cache.set("key\(index)", "v")
            seen.insert(cache.get("key\(index)")!.casUnique)
        }
        #expect(seen.count == 500)
    }

    @Test func addStoresOnlyWhenAbsent() {
        #expect(cache.store(.add, "k", "first") == .stored)
        #expect(cache.store(.add, "k", "second") == .notStored)
        #expect(cache.string("k") == "first")
    }

    @Test func replaceStoresOnlyWhenPresent() {
        #expect(cache.store(.replace, "k", "x") == .notStored)
        #expect(cache.get("k") == nil)
        cache.set("k", "x", flags: 1)
        #expect(cache.store(.replace, "k", "y", flags: 3) == .stored)
        let item = cache.get("k")
        #expect(item?.string == "y")
        #expect(item?.flags == 3)
    }

    @Test func casFlow() {
        #expect(cache.store(.compareAndSwap(casUnique: 5), "k", "x") == .notFound)
        cache.set("k", "x")
        let unique = cache.get("k")!.casUnique
        #expect(cache.store(.compareAndSwap(casUnique: unique &+ 1), "k", "y") == .exists)
        #expect(cache.store(.compareAndSwap(casUnique: 0), "k", "y") == .exists)
        #expect(cache.string("k") == "x")
        #expect(cache.store(.compareAndSwap(casUnique: unique), "k", "y", flags: 9) == .stored)
        let after = cache.get("k")!
        #expect(after.string == "y")
        #expect(after.flags == 9)
        #expect(after.casUnique != unique)
        // The old unique is now stale.
        #expect(cache.store(.compareAndSwap(casUnique: unique), "k", "z") == .exists)
        let statistics = cache.statistics()
        #expect(statistics.casMisses == 1)
        #expect(statistics.casBadValue == 3)
        #expect(statistics.casHits == 1)
    }

    @Test func appendAndPrependKeepFlagsAndChangeCAS() {
        // memcached 1.6.18: set t 7 100 1 x; append t 0 0 2 yz -> "xyz" flags 7;
        // prepend t 9 0 2 ab -> "abxyz" flags 7, CAS unique new each time.
        cache.set("t", "x", flags: 7, exptime: 100)
        let original = cache.get("t")!.casUnique
        #expect(cache.store(.append, "t", "yz", flags: 0) == .stored)
        let appended = cache.get("t")!
        #expect(appended.string == "xyz")
        #expect(appended.flags == 7)
        #expect(appended.casUnique != original)
        #expect(cache.store(.prepend, "t", "ab", flags: 9) == .stored)
        let prepended = cache.get("t")!
        #expect(prepended.string == "abxyz")
        #expect(prepended.flags == 7)
        #expect(prepended.casUnique != appended.casUnique)
    }

    @Test func appendAndPrependOnMissingKeyAreNotStored() {
        #expect(cache.store(.append, "nokey", "x") == .notStored)
        #expect(cache.store(.prepend, "nokey", "x") == .notStored)
        #expect(cache.get("nokey") == nil)
        #expect(cache.statistics().commandSet == 2)
    }

    @Test func deleteRemovesOnce() {
        cache.set("k", "v")
        #expect(cache.delete(kvBuffer("k")) == .deleted)
        #expect(cache.delete(kvBuffer("k")) == .notFound)
        #expect(cache.get("k") == nil)
        let statistics = cache.statistics()
        #expect(statistics.deleteHits == 1)
        #expect(statistics.deleteMisses == 1)
        #expect(statistics.currentItems == 0)
        #expect(statistics.bytes == 0)
    }

    @Test func emptyAndBinaryValuesAndKeysRoundTrip() {
        #expect(cache.store(.set, key: kvBuffer("empty"), value: ByteBuffer(), flags: 0, exptime: 0) == .stored)
        #expect(cache.get("empty")?.valueLength == 0)
        let binaryKey: [UInt8] = [0, 255, 13, 10, 32] + Array(repeating: 7, count: 245)
        let binaryValue: [UInt8] = Array(0...255)
        #expect(cache.store(.set, key: kvBuffer(binaryKey), value: kvBuffer(binaryValue), flags: 1, exptime: 0) == .stored)
        let item = cache.get(kvBuffer(binaryKey))
        #expect(item?.withUnsafeValueBytes { Array($0) } == binaryValue)
        #expect(item?.valueBuffer() == kvBuffer(binaryValue))
        var reply = ByteBuffer(string: "VALUE ")
        #expect(reply.writeValue(of: item!) == 256)
        #expect(reply.readableBytes == 6 + 256)
        // A key that is a prefix of another is a different key.
        #expect(cache.get(kvBuffer(Array(binaryKey.dropLast()))) == nil)
    }

    @Test func keysAndValuesAreCopiedFromSlicesOfALargerBuffer() {
        var receive = ByteBuffer(string: "set somekey 0 0 5\r\nhello\r\n")
        let key = receive.getSlice(at: 4, length: 7)!
        let value = receive.getSlice(at: 19, length: 5)!
        #expect(cache.store(.set, key: key, value: value, flags: 0, exptime: 0) == .stored)
        // Overwrite the receive buffer in place, as a connection reusing it would.
        receive.setString("XXXXXXXXXXXXXXXXXXXXXXXXX", at: 0)
        #expect(cache.string("somekey") == "hello")
    }

    @Test func aReadItemKeepsItsBytesWhenTheKeyChanges() {
        cache.set("k", "old")
        let held = cache.get("k")!
        cache.set("k", "new")
        #expect(cache.delete(kvBuffer("k")) == .deleted)
        #expect(held.string == "old")
    }

    // memcached 1.6.18 with -I 1m: `set k 0 0 1048516` is STORED, 1048517 gets
    // "SERVER_ERROR object too large for cache" (key + value + 59 > 1 MiB), likewise for key lengths
    // 100 and 250.
    @Test(arguments: [1, 100, 250])
    func tooLargeBoundaryMatchesMemcached(keyLength: Int) {
        let key = String(repeating: "k", count: keyLength)
        let largest = (1 << 20) - 59 - keyLength
        #expect(cache.store(.set, key: kvBuffer(key), value: ByteBuffer(repeating: 97, count: largest), flags: 0, exptime: 0) == .stored)
        #expect(cache.get(key)?.valueLength == largest)
        #expect(cache.store(.set, key: kvBuffer(key), value: ByteBuffer(repeating: 97, count: largest + 1), flags: 0, exptime: 0) == .tooLarge)
    }

    // memcached: a too-large `set` drops the old value; a too-large `replace`/`append` keeps it.
    @Test func refusedSetRemovesTheOldValueOtherModesKeepIt() {
        let huge = ByteBuffer(repeating: 97, count: 2_000_000)
        cache.set("old", "aaaaa")
        #expect(cache.store(.set, key: kvBuffer("old"), value: huge, flags: 0, exptime: 0) == .tooLarge)
        #expect(cache.get("old") == nil)
        cache.set("old2", "aaaaa")
        #expect(cache.store(.replace, key: kvBuffer("old2"), value: huge, flags: 0, exptime: 0) == .tooLarge)
        #expect(cache.string("old2") == "aaaaa")
        #expect(cache.store(.append, key: kvBuffer("old2"), value: huge, flags: 0, exptime: 0) == .tooLarge)
        #expect(cache.string("old2") == "aaaaa")
        let statistics = cache.statistics()
        #expect(statistics.storeTooLarge == 3)
        #expect(statistics.commandSet == 2)  // the two successful sets; refusals are not counted
    }

    // memcached: `ap` holding 1048514 bytes, `append ap 0 0 2` -> NOT_STORED (joined item too large).
    @Test func joinThatWouldBeTooLargeIsNotStored() {
        let value = ByteBuffer(repeating: 97, count: (1 << 20) - 59 - 2 - 1)
        #expect(cache.store(.set, key: kvBuffer("ap"), value: value, flags: 0, exptime: 0) == .stored)
        let unique = cache.get("ap")!.casUnique
        #expect(cache.store(.append, "ap", "bb") == .notStored)
        #expect(cache.store(.prepend, "ap", "bb") == .notStored)
        #expect(cache.store(.append, "ap", "b") == .stored)
        #expect(cache.get("ap")?.valueLength == (1 << 20) - 59 - 2)
        #expect(cache.get("ap")?.casUnique != unique)
    }

    @Test func addBouncingOffAnItemStillCountsAsASetCommand() {
        cache.set("k", "v")
        cache.store(.add, "k", "w")
        #expect(cache.statistics().commandSet == 2)
        #expect(cache.statistics().totalItems == 1)
    }
}
