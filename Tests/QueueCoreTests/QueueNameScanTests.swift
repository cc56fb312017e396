import NIOCore
import QueueCore
import Testing

@Suite struct QueueNameScanTests {
    @Test func visitsEveryNameOnceAcrossPages() {
        let names = (0..<1000).map { ByteBuffer(string: "queue-\($0)") }
        var cursor: UInt64 = 0
        var seen: [ByteBuffer] = []
        var pages = 0
        repeat {
            let page = QueueNameScan.page(of: names, after: cursor, matching: nil, count: 10)
            #expect(page.names.count <= 11)
            seen += page.names
            cursor = page.cursor
            pages += 1
        } while cursor != 0 && pages < 10_000
        #expect(seen.count == names.count)
        #expect(Set(seen) == Set(names))
    }

    @Test func namesPresentThroughoutSurviveChanges() {
        var names = Set((0..<200).map { ByteBuffer(string: "n\($0)") })
        let stable = names
        var cursor: UInt64 = 0
        var seen = Set<ByteBuffer>()
        var round = 0
        repeat {
            let page = QueueNameScan.page(of: names, after: cursor, matching: nil, count: 7)
            seen.formUnion(page.names)
            cursor = page.cursor
            names.insert(ByteBuffer(string: "added-\(round)"))
            round += 1
        } while cursor != 0
        #expect(stable.isSubset(of: seen))
    }

    @Test func matchFilters() {
        let names = ["jobs:1", "jobs:2", "mail:1"].map { ByteBuffer(string: $0) }
        let page = QueueNameScan.page(of: names, after: 0, matching: GlobPattern(ByteBuffer(string: "jobs:*")), count: 100)
        #expect(page.cursor == 0)
        #expect(Set(page.names) == Set(names.prefix(2)))
    }
}
