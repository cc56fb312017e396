import MemcacheText
import NIOCore
import Testing

/// Where this codec deliberately answers differently from memcached 1.6.18. Each test states what
/// memcached was observed to send and what we do instead, and why.
@Suite struct MemcachedDifferenceTests {
    /// memcached checks only a key's length: `set t 0 0 1\r\nx\r\nget t\x01\r\n` → `STORED\r\nEND\r\n`,
    /// and `get a\x00b\r\n` → `END\r\n` (the NUL ends its C string, so it looks up `a`).
    /// The SPEC wants a CLIENT_ERROR; we give memcached's reply for a bad key, under its noreply rules.
    @Test func keysWithControlCharactersAreRejected() throws {
        #expect(try Decoding.requests("get t\u{1}\r\n") == [Decoding.error(.badCommandLineFormat)])
        #expect(try Decoding.requests("get a\0b\r\n") == [Decoding.error(.badCommandLineFormat)])
        #expect(try Decoding.requests("get ok bad\tkey\r\n") == [Decoding.error(.badCommandLineFormat)])
        #expect(try Decoding.requests("get a\rb\r\n") == [Decoding.error(.badCommandLineFormat)])
        // Storage: the data line is then read as a command, as after memcached's other key errors.
        #expect(try Decoding.requests("set a\u{7F} 0 0 1\r\nx\r\n") == [Decoding.error(.badCommandLineFormat), Decoding.error(.unknownCommand)])
        #expect(try Decoding.requests("set a\u{1} 0 0 1 noreply\r\n") == [Decoding.error(.badCommandLineFormat, noreply: true)])
        #expect(try Decoding.requests("delete a\u{1} noreply\r\n") == [Decoding.error(.badCommandLineFormat, noreply: true)])
        #expect(try Decoding.requests("incr a\u{1} 1\r\n") == [Decoding.error(.badCommandLineFormat)])
        #expect(try Decoding.requests("touch a\u{1} 1\r\n") == [Decoding.error(.badCommandLineFormat)])
    }

    /// memcached processes a line of more than 2048 bytes when it comes in one read
    /// (`"a" * 3000 + "\r\n"` → `ERROR\r\n`; `set <3000-byte key> 0 0 1` → `CLIENT_ERROR bad command
    /// line format\r\n`) and closes the connection when it comes in pieces. We always close, so the
    /// answer does not depend on how TCP split the bytes.
    @Test func longLinesCloseWhateverTheirChunking() throws {
        let line = String(repeating: "a", count: 3000) + "\r\n"
        #expect(try Decoding.requests(line) == [Decoding.error(.lineTooLong)])
        let (output, closed) = try Transcript.replay(ByteBuffer(string: "version\r\n" + line), chunkSizes: [1])
        #expect(String(buffer: output) == "")
        #expect(closed)
        // memcached allows up to 100 leading spaces before a long `get `; with 101 in one read it
        // still answers (`END\r\n`), in pieces it closes.
        let spaced = String(repeating: " ", count: 101) + "get " + String(repeating: "k ", count: 1500) + "\r\n"
        #expect(try Decoding.requests(spaced) == [Decoding.error(.lineTooLong)])
    }

    /// memcached's `-I 1m` counts its item header, so a value of exactly 1 MiB gets
    /// `SERVER_ERROR object too large for cache\r\n`. The SPEC allows messages up to
    /// `--max-message-size` bytes: the limit here counts data bytes only.
    @Test func aValueOfExactlyTheLimitIsAccepted() throws {
        let data = String(repeating: "x", count: 1 << 20)
        #expect(try Decoding.request("set a 0 0 1048576\r\n\(data)\r\n") == Decoding.storage(.set, "a", data))
    }

    /// memcached knows meta commands (`mn\r\n` → `MN\r\n`, `ms a 1\r\nx\r\n` → `HD\r\n`) and
    /// `shutdown` (`ERROR: shutdown not enabled\r\n`). They are not part of this server: `ERROR`.
    @Test func metaAndAdminCommandsAreUnknown() throws {
        #expect(try Decoding.requests("mn\r\nshutdown\r\nslabs reassign 1 2\r\nlru_crawler metadump all\r\n") == Array(repeating: Decoding.error(.unknownCommand), count: 4))
    }

    /// When a get names a bad key, memcached throws away every reply still queued from the same read:
    /// `set a 0 0 1\r\nx\r\nget a <251-byte key> a\r\n` in one packet → only
    /// `CLIENT_ERROR bad command line format\r\n`; with a pause after the set, `STORED\r\n` comes first.
    /// The codec only reports the bad get; earlier replies stand.
    @Test func aBadGetDoesNotCancelEarlierReplies() throws {
        let input = "set a 0 0 1\r\nx\r\nget a \(String(repeating: "k", count: 251)) a\r\n"
        let (output, closed) = try Transcript.replay(ByteBuffer(string: input), chunkSizes: [input.utf8.count])
        #expect(String(buffer: output) == "STORED\r\nCLIENT_ERROR bad command line format\r\n")
        #expect(!closed)
    }

    /// memcached 1.6.18 answers a connection over `-c` with `ERROR Too many open connections\r\n`
    /// and closes it; the SPEC says `SERVER_ERROR Too many open connections`, which is what the
    /// reply constant holds.
    @Test func tooManyConnectionsFollowsTheSpec() {
        var buffer = ByteBuffer()
        buffer.writeMemcacheReply(.tooManyConnections)
        #expect(String(buffer: buffer) == "SERVER_ERROR Too many open connections\r\n")
    }
}
