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
        var generator = SplitMix64(seed: unique ? 1 : 2)
        var store = MessageStore()
        var model: [Message] = []
        for _ in 0..<50_000 {
            let candidate = message("v\(generator.next() % 300)", flags: UInt32(generator.next() % 4))
            let alreadyQueued = model.contains { $0.bytes == candidate.bytes }
            switch generator.next() % 10 {
            case 0, 1, 2:
                let pushed = store.push(candidate, at: .tail, unique: unique)
                #expect(pushed == (!unique || !alreadyQueued))
                if pushed { model.append(candidate) }
            case 3:
                let pushed = store.push(candidate, at: .head, unique: unique)
                #expect(pushed == (!unique || !alreadyQueued))
                if pushed { model.insert(candidate, at: 0) }
            case 4, 5:
                let popped = store.pop(from: .head)
                #expect(popped == (model.isEmpty ? nil : model.removeFirst()))
            case 6:
                let popped = store.pop(from: .tail)
                #expect(popped == model.popLast())
            case 7:
                let removed = store.removeAll(equalTo: candidate.bytes)
                let before = model.count
                model.removeAll { $0.bytes == candidate.bytes }
                #expect(removed == before - model.count)
            case 8:
                // LREM: a few copies, from either end.
                let limit = Int(generator.next() % 3) + 1
                let fromHead = generator.next() % 2 == 0
                let removed = store.remove(equalTo: candidate.bytes, limit: limit, fromHead: fromHead)
                var expected = 0
                while expected < limit,
                    let position = fromHead
                        ? model.firstIndex(where: { $0.bytes == candidate.bytes })
                        : model.lastIndex(where: { $0.bytes == candidate.bytes })
                {
                    model.remove(at: position)
                    expected += 1
                }
                #expect(removed == expected)
            default:
                let contained = store.contains(candidate.bytes)
                #expect(contained == alreadyQueued)
            }
            #expect(store.count == model.count)
        }
        for expected in model {
            let popped = store.pop(from: .head)
            #expect(popped == expected)
        }
        let afterLast = store.pop(from: .head)
        #expect(afterLast == nil)
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
