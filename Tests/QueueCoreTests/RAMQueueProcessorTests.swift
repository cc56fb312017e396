import NIOCore
import QueueCore
import Testing

@Suite struct RAMQueueProcessorTests {
    @Test func pushesAndPopsInOrderAcrossCommands() {
        let processor = RAMQueueProcessor()
        #expect(processor.run(.push(queue: buffer("q"), messages: messages("a", "b", "a"), end: .tail, onlyIfAbsent: false)).pushed! == (2, 2))
        #expect(processor.run(.push(queue: buffer("q"), messages: messages("c"), end: .tail, onlyIfAbsent: false)).pushed! == (1, 3))
        #expect(processor.run(.length(queue: buffer("q"))).integer == 3)
        #expect(processor.run(.pop(queue: buffer("q"), end: .head, count: nil)).message == .some(messages("a")[0]))
        #expect(processor.run(.pop(queue: buffer("q"), end: .head, count: 5)).messages == messages("b", "c"))
        #expect(processor.run(.pop(queue: buffer("q"), end: .head, count: nil)).message == .some(nil))
        #expect(processor.run(.pop(queue: buffer("q"), end: .head, count: 2)).messages == [])
    }

    @Test func queuesDisappearWhenEmpty() {
        let processor = RAMQueueProcessor()
        _ = processor.run(.push(queue: buffer("q"), messages: messages("a"), end: .tail, onlyIfAbsent: false))
        _ = processor.run(.push(queue: buffer("r"), messages: messages("a"), end: .tail, onlyIfAbsent: false))
        #expect(processor.run(.queueCount).integer == 2)
        _ = processor.run(.pop(queue: buffer("q"), end: .head, count: nil))
        #expect(processor.run(.exists(queues: [buffer("q"), buffer("r"), buffer("r")])).integer == 2)
        #expect(processor.run(.queueCount).integer == 1)
        #expect(processor.run(.remove(queue: buffer("r"), members: [buffer("a")])).integer == 1)
        #expect(processor.run(.queueCount).integer == 0)
        #expect(processor.run(.names(matching: nil)).names == [])
    }

    @Test func duplicatesWhenAllowed() {
        let processor = RAMQueueProcessor(configuration: .init(allowsDuplicates: true))
        #expect(processor.run(.push(queue: buffer("q"), messages: messages("a", "a"), end: .tail, onlyIfAbsent: false)).pushed! == (2, 2))
        // memcached `add` still refuses a message already queued.
        #expect(processor.run(.push(queue: buffer("q"), messages: messages("a"), end: .tail, onlyIfAbsent: true)).pushed! == (0, 2))
        guard case .memberships(let found) = processor.run(.contains(queue: buffer("q"), members: [buffer("a"), buffer("b")])) else {
            Issue.record("expected memberships")
            return
        }
        #expect(found == [true, false])
        #expect(processor.run(.remove(queue: buffer("q"), members: [buffer("a")])).integer == 2)
    }

    @Test func deleteAndFlushDropWholeQueues() {
        let processor = RAMQueueProcessor()
        for name in ["a", "b", "c"] {
            _ = processor.run(.push(queue: buffer(name), messages: messages("x", "y"), end: .tail, onlyIfAbsent: false))
        }
        #expect(processor.run(.delete(queues: [buffer("a"), buffer("a"), buffer("zz")])).integer == 1)
        #expect(processor.run(.names(matching: nil)).names == ["b", "c"])
        _ = processor.run(.deleteAll)
        #expect(processor.run(.queueCount).integer == 0)
        #expect(processor.memoryInUse == 0)
    }

    @Test func aRememberedQueueThatLeftTheRegistryIsLookedUpAgain() {
        let processor = RAMQueueProcessor()
        let (first, second) = (TestClient(), TestClient())
        func push(_ text: String, by client: TestClient) -> (added: Int, length: Int)? {
            processor.run(.push(queue: buffer("q"), messages: messages(text), end: .tail, onlyIfAbsent: false), client: client).pushed
        }
        func pop(by client: TestClient) -> String?? {
            processor.run(.pop(queue: buffer("q"), end: .head, count: nil), client: client).messageText
        }
        #expect(push("a", by: first)! == (1, 1))
        #expect(pop(by: second) == .some("a"))  // the queue both remember leaves the registry
        #expect(push("b", by: second)! == (1, 1))
        #expect(pop(by: first) == .some("b"))
        #expect(push("c", by: first)! == (1, 1))
        #expect(processor.run(.delete(queues: [buffer("q")]), client: second).integer == 1)
        #expect(push("d", by: first)! == (1, 1))
        #expect(processor.run(.remove(queue: buffer("q"), members: [buffer("c")]), client: second).integer == 0)
        #expect(processor.run(.length(queue: buffer("q"))).integer == 1)
        #expect(pop(by: second) == .some("d"))
        #expect(pop(by: first) == .some(nil))
        #expect(processor.run(.queueCount).integer == 0)
    }

    @Test func memoryLimitRefusesPushesAndFreesOnPop() {
        let processor = RAMQueueProcessor(configuration: .init(memoryLimit: 1000))
        let big = Message(bytes: ByteBuffer(repeating: 1, count: 400))
        var other = big
        other.bytes.setInteger(UInt8(2), at: 0)
        #expect(processor.run(.push(queue: buffer("q"), messages: [big], end: .tail, onlyIfAbsent: false)).pushed?.added == 1)
        #expect(processor.run(.push(queue: buffer("q"), messages: [other], end: .tail, onlyIfAbsent: false)).pushed?.added == 1)
        var third = big
        third.bytes.setInteger(UInt8(3), at: 0)
        #expect(processor.run(.push(queue: buffer("q"), messages: [third], end: .tail, onlyIfAbsent: false)).failure == .outOfMemory)
        _ = processor.run(.pop(queue: buffer("q"), end: .head, count: nil))
        #expect(processor.run(.push(queue: buffer("q"), messages: [third], end: .tail, onlyIfAbsent: false)).pushed?.added == 1)
        _ = processor.run(.deleteAll)
        #expect(processor.memoryInUse == 0)
    }

    @Test func queueLimitRefusesNewQueuesOnly() {
        let processor = RAMQueueProcessor(configuration: .init(maximumQueues: 2))
        _ = processor.run(.push(queue: buffer("a"), messages: messages("x"), end: .tail, onlyIfAbsent: false))
        _ = processor.run(.push(queue: buffer("b"), messages: messages("x"), end: .tail, onlyIfAbsent: false))
        #expect(processor.run(.push(queue: buffer("c"), messages: messages("x"), end: .tail, onlyIfAbsent: false)).failure == .tooManyQueues)
        #expect(processor.run(.push(queue: buffer("a"), messages: messages("y"), end: .tail, onlyIfAbsent: false)).pushed?.added == 1)
        _ = processor.run(.delete(queues: [buffer("b")]))
        #expect(processor.run(.push(queue: buffer("c"), messages: messages("x"), end: .tail, onlyIfAbsent: false)).pushed?.added == 1)
    }

    @Test func hostileNamesAreJustNames() {
        let processor = RAMQueueProcessor()
        let names = ["../../etc/passwd", "a\0b", String(repeating: "n", count: 10_000), "名前", ".", "..", ""]
        for name in names {
            _ = processor.run(.push(queue: buffer(name), messages: messages(name), end: .tail, onlyIfAbsent: false))
        }
        #expect(processor.run(.names(matching: nil)).names == names.sorted())
        for name in names {
            #expect(processor.run(.pop(queue: buffer(name), end: .head, count: nil)).message == .some(messages(name)[0]))
        }
    }

    @Test func concurrentProducersAndConsumersLoseAndDuplicateNothing() async {
        let processor = RAMQueueProcessor()
        let producers = 4
        let perProducer = 5_000
        let popped = await withTaskGroup(of: [String].self) { group in
            for producer in 0..<producers {
                group.addTask {
                    // One client each, so producers and consumers race on the queue they remember
                    // while it empties, leaves the registry and comes back.
                    let client = TestClient()
                    for index in 0..<perProducer {
                        let message = messages("\(producer)-\(index)")
                        _ = processor.run(.push(queue: buffer("q"), messages: message, end: .tail, onlyIfAbsent: false), client: client)
                    }
                    return []
                }
            }
            for _ in 0..<2 {
                group.addTask {
                    let client = TestClient()
                    var popped: [String] = []
                    var idle = 0
                    while idle < 1000 {
                        if case .message(let message?) = processor.run(.pop(queue: buffer("q"), end: .head, count: nil), client: client) {
                            popped.append(String(buffer: message.bytes))
                            idle = 0
                        } else {
                            idle += 1
                            await Task.yield()
                        }
                    }
                    return popped
                }
            }
            var lists: [[String]] = []
            for await list in group {
                lists.append(list)
            }
            return lists
        }
        var leftover: [String] = []
        while case .message(let message?) = processor.run(.pop(queue: buffer("q"), end: .head, count: nil)) {
            leftover.append(String(buffer: message.bytes))
        }
        let all = popped.flatMap { $0 } + leftover
        #expect(all.count == producers * perProducer)
        #expect(Set(all).count == producers * perProducer)
        // Within what one consumer took, each producer's messages come in the order pushed.
        for list in popped + [leftover] {
            var lastIndex = [Int](repeating: -1, count: producers)
            for text in list {
                let parts = text.split(separator: "-").map { Int($0)! }
                #expect(parts[1] > lastIndex[parts[0]])
                lastIndex[parts[0]] = parts[1]
            }
        }
        #expect(processor.memoryInUse == 0)
    }
}
