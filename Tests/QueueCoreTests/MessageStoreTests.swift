import NIOCore
import TestSupport
import Testing

@testable import QueueCore

private func message(_ text: String, flags: UInt32 = 0) -> Message {
    Message(bytes: ByteBuffer(string: text), flags: flags)
}

// MessageStore is non-copyable, which `#expect` cannot take apart: results go into locals first.
@Suite struct MessageStoreTests {
    @Test func keepsFIFOOrderAndFlags() {
        var store = MessageStore()
        for index in 0..<100 {
            let pushed = store.push(message("m\(index)", flags: UInt32(index)), at: .tail, unique: true)
            #expect(pushed)
        }
        #expect(store.count == 100)
        for index in 0..<100 {
            let popped = store.pop(from: .head)
            #expect(popped == message("m\(index)", flags: UInt32(index)))
        }
        let afterLast = store.pop(from: .head)
        #expect(afterLast == nil)
        #expect(store.count == 0)
        #expect(store.contentBytes == 0)
    }

    @Test func popsIntoAReusedBufferNeverChangeAMessageStillHeld() {
        var store = MessageStore()
        for text in ["first", "second", "third"] {
            _ = store.push(message(text, flags: 3), at: .tail, unique: true)
        }
        let long = String(repeating: "x", count: MessageStore.reusableBufferLimit + 1)
        _ = store.push(message(long), at: .tail, unique: true)
        var buffer = ByteBuffer()

        let first = store.pop(from: .head, reusing: &buffer)
        #expect(first == message("first", flags: 3))
        let firstAddress = first?.bytes.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        // Still held: the next pop must leave its bytes alone.
        let second = store.pop(from: .head, reusing: &buffer)
        #expect(first == message("first", flags: 3))
        #expect(second == message("second", flags: 3))
        let secondAddress = second?.bytes.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        #expect(secondAddress != firstAddress)
        // Let go of: the next pop writes where the last one did.
        _ = consume second
        let third = store.pop(from: .head, reusing: &buffer)
        #expect(third == message("third", flags: 3))
        #expect(third?.bytes.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) } == secondAddress)

        // A message over the limit gets a buffer of its own, and the reused one stays small.
        let fourth = store.pop(from: .head, reusing: &buffer)
        #expect(fourth == message(long))
        #expect(buffer.capacity <= MessageStore.reusableBufferLimit)
        let none = store.pop(from: .head, reusing: &buffer)
        #expect(none == nil)
    }

    @Test func uniqueQueuesSkipEqualMessagesAndDuplicateQueuesKeepThem() {
        var unique = MessageStore()
        let first = unique.push(message("a"), at: .tail, unique: true)
        let again = unique.push(message("a"), at: .tail, unique: true)
        let atHeadWithOtherFlags = unique.push(message("a", flags: 7), at: .head, unique: true)
        #expect(first && !again && !atHeadWithOtherFlags)
        #expect(unique.count == 1)

        var duplicates = MessageStore()
        for _ in 0..<3 {
            let pushed = duplicates.push(message("a"), at: .tail, unique: false)
            #expect(pushed)
        }
        _ = duplicates.push(message("b"), at: .tail, unique: false)
        let removed = duplicates.removeAll(equalTo: ByteBuffer(string: "a"))
        #expect(removed == 3)
        let remaining = duplicates.pop(from: .head)
        #expect(remaining == message("b"))
    }

    @Test func emptyAndBinaryMessagesAreMessagesLikeAnyOther() {
        var store = MessageStore()
        _ = store.push(message(""), at: .tail, unique: true)
        _ = store.push(message("a\0b\r\n"), at: .tail, unique: true)
        let hasEmpty = store.contains(ByteBuffer())
        let emptyAgain = store.push(message(""), at: .tail, unique: true)
        #expect(hasEmpty && !emptyAgain)
        let popped = [store.pop(from: .head), store.pop(from: .head)]
        #expect(popped == [message(""), message("a\0b\r\n")])
    }

    @Test func removingFromTheMiddleKeepsTheRestInOrder() {
        var store = MessageStore()
        let count = 10_000
        for index in 0..<count {
            _ = store.push(message("m\(index)"), at: .tail, unique: true)
        }
        // Enough removals to force several compactions.
        for index in stride(from: 1, to: count, by: 2) {
            let removed = store.removeAll(equalTo: ByteBuffer(string: "m\(index)"))
            #expect(removed == 1)
        }
        let removedTwice = store.removeAll(equalTo: ByteBuffer(string: "m1"))
        #expect(removedTwice == 0)
        #expect(store.count == count / 2)
        for index in stride(from: 0, to: count, by: 2) {
            let kept = store.contains(ByteBuffer(string: "m\(index)"))
            let gone = store.contains(ByteBuffer(string: "m\(index + 1)"))
            #expect(kept && !gone)
        }
        for index in stride(from: 0, to: count, by: 2) {
            let popped = store.pop(from: .head)
            #expect(popped == message("m\(index)"))
        }
        #expect(store.count == 0)
    }

    /// Random operations against a plain array: the store must agree with it after every step,
    /// through index growth and shrinkage, compactions and sequence wrap-around at the head.
    @Test(arguments: [true, false])
    func agreesWithASimpleModel(unique: Bool) {
        var model = StoreModel(unique: unique, seed: unique ? 1 : 2)
        for _ in 0..<50_000 {
            if model.generator.next() % 10 < 7 {
                model.pushOrPop()
            } else {
                model.lookUp()
            }
        }
        model.drain()
    }

    /// A queue that allows duplicates indexes nothing until asked about its contents. Lookups
    /// come in bursts between long runs of pushes and pops, and the queue drains now and then, so
    /// the index is built over queues of every shape and dropped again.
    @Test func buildsItsIndexOnTheFirstLookupByContent() {
        var model = StoreModel(unique: false, contents: 20, seed: 3)
        for round in 0..<40 {
            for _ in 0..<500 {
                model.pushOrPop()
            }
            for _ in 0..<10 {
                model.lookUp()
            }
            if round % 5 == 4 {
                model.drain()
            }
        }
        model.drain()
    }
}

/// A ``MessageStore`` next to a plain array of what it should hold, checked at every step.
private struct StoreModel: ~Copyable {
    let unique: Bool
    /// How many different contents the messages have.
    let contents: UInt64
    var generator: SplitMix64
    var store = MessageStore()
    var model: [Message] = []

    init(unique: Bool, contents: UInt64 = 300, seed: UInt64) {
        self.unique = unique
        self.contents = contents
        self.generator = SplitMix64(seed: seed)
    }

    private mutating func candidate() -> Message {
        message("v\(self.generator.next() % self.contents)", flags: UInt32(self.generator.next() % 4))
    }

    /// A push at either end, or a pop from either end.
    mutating func pushOrPop() {
        let candidate = self.candidate()
        let alreadyQueued = self.model.contains { $0.bytes == candidate.bytes }
        switch self.generator.next() % 7 {
        case 0, 1, 2:
            let pushed = self.store.push(candidate, at: .tail, unique: self.unique)
            #expect(pushed == (!self.unique || !alreadyQueued))
            if pushed { self.model.append(candidate) }
        case 3:
            let pushed = self.store.push(candidate, at: .head, unique: self.unique)
            #expect(pushed == (!self.unique || !alreadyQueued))
            if pushed { self.model.insert(candidate, at: 0) }
        case 4, 5:
            let popped = self.store.pop(from: .head)
            #expect(popped == (self.model.isEmpty ? nil : self.model.removeFirst()))
        default:
            let popped = self.store.pop(from: .tail)
            #expect(popped == self.model.popLast())
        }
        #expect(self.store.count == self.model.count)
    }

    /// SREM, LREM from either end, SISMEMBER or SADD: an operation that finds messages by content.
    mutating func lookUp() {
        let candidate = self.candidate()
        let alreadyQueued = self.model.contains { $0.bytes == candidate.bytes }
        switch self.generator.next() % 4 {
        case 0:
            let removed = self.store.removeAll(equalTo: candidate.bytes)
            let before = self.model.count
            self.model.removeAll { $0.bytes == candidate.bytes }
            #expect(removed == before - self.model.count)
        case 1:
            let limit = Int(self.generator.next() % 3) + 1
            let fromHead = self.generator.next() % 2 == 0
            let removed = self.store.remove(equalTo: candidate.bytes, limit: limit, fromHead: fromHead)
            var expected = 0
            while expected < limit,
                let position = fromHead
                    ? self.model.firstIndex(where: { $0.bytes == candidate.bytes })
                    : self.model.lastIndex(where: { $0.bytes == candidate.bytes })
            {
                self.model.remove(at: position)
                expected += 1
            }
            #expect(removed == expected)
        case 2:
            let contained = self.store.contains(candidate.bytes)
            #expect(contained == alreadyQueued)
        default:
            let pushed = self.store.push(candidate, at: .tail, unique: true)
            #expect(pushed == !alreadyQueued)
            if pushed { self.model.append(candidate) }
        }
        #expect(self.store.count == self.model.count)
    }

    /// Pops everything, checking order, flags and that nothing is left.
    mutating func drain() {
        for expected in self.model {
            let popped = self.store.pop(from: .head)
            #expect(popped == expected)
        }
        self.model.removeAll()
        let afterLast = self.store.pop(from: .head)
        #expect(afterLast == nil)
        #expect(self.store.contentBytes == 0)
    }
}

@Suite struct MessageStoreDuplicateTests {
    /// Copies of one message share one index entry, so pushing and popping them never probes
    /// through the others (which made a queue of copies quadratic).
    @Test func copiesOfOneMessageShareOneIndexEntry() {
        var store = MessageStore()
        for index in 0..<10_000 {
            let pushed = store.push(message("same"), at: index % 2 == 0 ? .tail : .head, unique: false)
            #expect(pushed)
        }
        _ = store.push(message("other"), at: .tail, unique: false)
        #expect(store.distinctContents == 2)
        for _ in 0..<5_000 {
            _ = store.pop(from: .head)
            _ = store.pop(from: .tail)
        }
        #expect(store.count == 1)
        #expect(store.distinctContents == 1)
        let left = store.pop(from: .head)
        #expect(left == message("same"))
    }
}
