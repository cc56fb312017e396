import NIOCore
import QueueCore
import Testing

@Suite struct GlobPatternTests {
    private func matches(_ pattern: String, _ name: String) -> Bool {
        GlobPattern(ByteBuffer(string: pattern)).matches(ByteBuffer(string: name))
    }

    @Test func matchesLikeRedis() {
        #expect(matches("*", ""))
        #expect(matches("*", "anything"))
        #expect(matches("h?llo", "hello"))
        #expect(!matches("h?llo", "hllo"))
        #expect(matches("h*llo", "heeeello"))
        #expect(matches("h[ae]llo", "hallo"))
        #expect(!matches("h[ae]llo", "hillo"))
        #expect(matches("h[^e]llo", "hallo"))
        #expect(!matches("h[^e]llo", "hello"))
        #expect(matches("h[a-b]llo", "hbllo"))
        #expect(matches("h[b-a]llo", "hallo"))
        #expect(matches("h\\*llo", "h*llo"))
        #expect(!matches("h\\*llo", "hello"))
        #expect(matches("queue:*:jobs", "queue:7:jobs"))
        #expect(!matches("queue:*:jobs", "queue:7:job"))
        #expect(matches("a*", "a"))
        #expect(matches("[abc", "a"))
    }

    @Test func pathologicalPatternsFinish() {
        let pattern = String(repeating: "a*", count: 30) + "b"
        #expect(!matches(pattern, String(repeating: "a", count: 60)))
    }

    /// Redis 7 stops at 1,000 nested `*` (redis-server 7.0.15: `KEYS` of 1,000 `*a` finds a key
    /// of 5,000 `a`, of 1,001 finds nothing); a deeper pattern must not overflow the stack.
    @Test func deeplyNestedStarsStopMatchingAsInRedis() {
        let name = String(repeating: "a", count: 200_000)
        #expect(matches(String(repeating: "*a", count: 1000), name))
        #expect(!matches(String(repeating: "*a", count: 1001), name))
        #expect(!matches(String(repeating: "*a", count: 100_000), name))
    }
}
