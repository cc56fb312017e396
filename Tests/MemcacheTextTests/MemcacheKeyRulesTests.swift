import MemcacheText
import NIOCore
import Testing

@Suite struct MemcacheKeyRulesTests {
    @Test func lengthAndControlCharacters() {
        #expect(MemcacheKeyRules.isValid(ByteBuffer(string: String(repeating: "k", count: 250))))
        #expect(!MemcacheKeyRules.isValid(ByteBuffer(string: String(repeating: "k", count: 251))))
        #expect(MemcacheKeyRules.isValid(ByteBuffer(string: "../../etc/passwd")))
        #expect(MemcacheKeyRules.isValid(ByteBuffer(string: "日本")))
        #expect(MemcacheKeyRules.isValid(ByteBuffer(bytes: [0x80, 0xFF, 0x20 + 1])))
        for control: UInt8 in [0x00, 0x01, 0x09, 0x0A, 0x0D, 0x1F, 0x7F] {
            #expect(!MemcacheKeyRules.isValid(ByteBuffer(bytes: [UInt8(ascii: "a"), control])))
        }
    }

    @Test func keyListsAreCheckedInOnePass() {
        let fine = ByteBuffer(string: "  a  " + String(repeating: "k", count: 250) + " b ")
        #expect(fine.withUnsafeReadableBytes { MemcacheKeyRules.areValidKeys($0) })
        let tooLong = ByteBuffer(string: "a " + String(repeating: "k", count: 251) + " b")
        #expect(!tooLong.withUnsafeReadableBytes { MemcacheKeyRules.areValidKeys($0) })
        let control = ByteBuffer(string: "a b\u{1}c")
        #expect(!control.withUnsafeReadableBytes { MemcacheKeyRules.areValidKeys($0) })
    }

    @Test func tokensCompareByWords() {
        #expect(MemcacheTokens(ByteBuffer(string: " a  b ")) == MemcacheTokens(ByteBuffer(string: "a b")))
        #expect(MemcacheTokens(ByteBuffer(string: "a b")) != MemcacheTokens(ByteBuffer(string: "a b c")))
        #expect(MemcacheTokens(ByteBuffer(string: "   ")).isEmpty)
        #expect(MemcacheTokens(ByteBuffer(string: "   ")).first == nil)
        #expect(MemcacheTokens(ByteBuffer(string: " x y")).description == "x y")
    }
}

@Suite struct ControlCharacterKeyTests {
    @Test func aCacheTakesControlCharactersAsMemcachedDoesAndQueuesRefuseThem() throws {
        let input = "get \u{10}\u{11}key\r\nset \u{1f}k 0 0 1\r\nx\r\n"
        var strict = MemcacheRequestDecoder()
        var buffer = ByteBuffer(string: input)
        #expect(try strict.decode(buffer: &buffer) == .error(MemcacheRequestError(.badCommandLineFormat)))

        var lenient = MemcacheRequestDecoder(limits: .init(allowsControlCharactersInKeys: true))
        buffer = ByteBuffer(string: input)
        guard case .retrieval(let retrieval) = try lenient.decode(buffer: &buffer) else {
            Issue.record("a cache takes keys with control characters")
            return
        }
        #expect(Array(retrieval.keys) == [ByteBuffer(string: "\u{10}\u{11}key")])
        guard case .storage(let storage) = try lenient.decode(buffer: &buffer) else {
            Issue.record("a cache stores under keys with control characters")
            return
        }
        #expect(storage.key == ByteBuffer(string: "\u{1f}k"))
        // The length rule holds either way, and so does the NUL, which memcached never stores.
        buffer = ByteBuffer(string: "get \(String(repeating: "\u{10}", count: 251))\r\n")
        #expect(try lenient.decode(buffer: &buffer) == .error(MemcacheRequestError(.badCommandLineFormat)))
        buffer = ByteBuffer(string: "get a\u{0}b\r\n")
        #expect(try lenient.decode(buffer: &buffer) == .error(MemcacheRequestError(.badCommandLineFormat)))
        buffer = ByteBuffer(string: "set k\u{0} 0 0 1\r\nx\r\nget k\r\n")
        #expect(try lenient.decode(buffer: &buffer) == .error(MemcacheRequestError(.badCommandLineFormat)))
    }
}
