import TestSupport
import Testing

@testable import QueueCore

/// The index on its own, with hashes chosen to collide: the whole hash equal (only the caller's
/// comparison tells entries apart), or only the bits that pick a position (long probe chains that
/// deletion must shift back correctly, also across the end of the table).
@Suite struct MessageIndexTests {
    /// A hash per content: few distinct values, most sharing their low bits.
    private static func hash(ofContent content: Int) -> UInt32 {
        let family = UInt32(content % 5)
        return family == 0 ? 0xFFFF_FFFF : family << 28 | 0x0000_0FFF
    }

    @Test func agreesWithADictionaryUnderCollidingHashes() {
        var index = MessageIndex()
        var model: [UInt32: Int] = [:]  // sequence → content
        var generator = SplitMix64(seed: 7)
        var nextSequence: UInt32 = 0
        for step in 0..<20_000 {
            let content = Int(generator.next() % 40)
            let hash = Self.hash(ofContent: content)
            let found = index.find(hash: hash) { model[$0] == content }.map { index.sequence(at: $0) }
            let expected = model.first { $0.value == content }?.key
            #expect(found == expected, "step \(step): content \(content)")
            if let found, generator.next() % 2 == 0 {
                let position = index.find(hash: hash) { $0 == found }!
                index.remove(at: position)
                model[found] = nil
            } else if found == nil {
                index.insert(sequence: nextSequence, hash: hash)
                model[nextSequence] = content
                nextSequence &+= 1
            }
            #expect(index.count == model.count)
        }
        // Drained, every content is gone, and the table shrank back.
        for (sequence, content) in model {
            let position = index.find(hash: Self.hash(ofContent: content)) { $0 == sequence }!
            index.remove(at: position)
        }
        #expect(index.count == 0)
        #expect(index.capacity <= 64)
        for content in 0..<40 {
            #expect(index.find(hash: Self.hash(ofContent: content)) { _ in true } == nil)
        }
    }

    @Test func replacingASequenceKeepsTheHash() {
        var index = MessageIndex()
        index.insert(sequence: 1, hash: 0x1234_5678)
        let position = index.find(hash: 0x1234_5678) { $0 == 1 }!
        index.replaceSequence(at: position, with: 0xFFFF_FFFF)
        #expect(index.find(hash: 0x1234_5678) { $0 == 0xFFFF_FFFF } == position)
        #expect(index.find(hash: 0x1234_5678) { $0 == 1 } == nil)
        #expect(index.find(hash: 0x1234_5679) { _ in true } == nil)
    }
}
