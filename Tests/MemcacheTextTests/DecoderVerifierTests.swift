import MemcacheText
import NIOCore
import NIOTestUtils
import Testing

/// NIO's own decoder checks, and long pipelines.
@Suite struct DecoderVerifierTests {
    private static func buffer(_ text: String) -> ByteBuffer {
        ByteBuffer(string: text)
    }

    @Test func verifierAcceptsAMixedPipeline() throws {
        let big = String(repeating: "B", count: 40)
        let pairs: [(ByteBuffer, [MemcacheRequest])] = [
            (Self.buffer("set a 1 2 3\r\nabc\r\n"), [Decoding.storage(.set, "a", flags: 1, exptime: 2, "abc")]),
            (Self.buffer("get a b c\r\n"), [.retrieval(.init(command: .get, keys: Decoding.keys("a b c")))]),
            (Self.buffer("gets a\nversion\n"), [.retrieval(.init(command: .gets, keys: Decoding.keys("a"))), .version]),
            (Self.buffer("gat 10 a\r\ngats 0 b\r\n"), [
                .retrieval(.init(command: .gat, exptime: 10, keys: Decoding.keys("a"))),
                .retrieval(.init(command: .gats, exptime: 0, keys: Decoding.keys("b"))),
            ]),
            (Self.buffer("cas q/open 0 0 2 77 noreply\r\n\r\n\r\n"), [Decoding.storage(.cas, "q/open", "\r\n", cas: 77, noreply: true)]),
            (Self.buffer("add a 0 0 0\r\n\r\nappend a 0 0 1\r\nx\r\nprepend a 0 0 1\r\ny\r\nreplace a 0 0 1\r\nz\r\n"), [
                Decoding.storage(.add, "a", ""), Decoding.storage(.append, "a", "x"),
                Decoding.storage(.prepend, "a", "y"), Decoding.storage(.replace, "a", "z"),
            ]),
            (Self.buffer("delete a\r\ndelete b noreply\r\n"), [
                .delete(key: ByteBuffer(string: "a"), noreply: false), .delete(key: ByteBuffer(string: "b"), noreply: true),
            ]),
            (Self.buffer("incr n 5\r\ndecr n 2 noreply\r\ntouch n 9\r\n"), [
                .increment(key: ByteBuffer(string: "n"), delta: 5, noreply: false),
                .decrement(key: ByteBuffer(string: "n"), delta: 2, noreply: true),
                .touch(key: ByteBuffer(string: "n"), exptime: 9, noreply: false),
            ]),
            (Self.buffer("flush_all 5\r\nstats queue\r\nverbosity 1\r\n"), [
                .flushAll(delay: 5, noreply: false), .stats(arguments: Decoding.keys("queue")), .verbosity(level: 1, noreply: false),
            ]),
            (Self.buffer("bogus\r\n\r\n"), [Decoding.error(.unknownCommand), Decoding.error(.unknownCommand)]),
            (Self.buffer("set a 0 0 2\r\nxyzw\r\n"), [Decoding.error(.badDataChunk), Decoding.error(.unknownCommand)]),
            (Self.buffer("set a 0 0 2 noreply\r\nxy\nget a\r\n"), [Decoding.error(.badDataChunk, noreply: true), Decoding.error(.unknownCommand)]),
            (Self.buffer("set big 0 0 40\r\n\(big)\r\nversion\r\n"), [Decoding.tooLarge(.set, "big"), .version]),
            (Self.buffer("incr n x\r\ndelete n 5\r\ntouch n x noreply\r\n"), [
                Decoding.error(.invalidNumericDelta), Decoding.error(.badDeleteCommandLine), Decoding.error(.invalidExptime, noreply: true),
            ]),
            (Self.buffer("get bad\u{7F}key\r\n"), [Decoding.error(.badCommandLineFormat)]),
        ]
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs) {
            MemcacheRequestDecoder(limits: .init(maximumValueLength: 16))
        }
    }

    @Test func thousandsOfPipelinedRequestsInOneBuffer() throws {
        var input = ByteBuffer()
        let count = 5_000
        for index in 0..<count {
            let value = "value-\(index)"
            input.writeString("set key\(index) \(index) 0 \(value.utf8.count) noreply\r\n\(value)\r\n")
        }
        for index in 0..<count {
            input.writeString("get key\(index)\r\n")
        }
        input.writeString("quit\r\n")

        let (output, closed) = try Transcript.replay(input, chunkSizes: [input.readableBytes])
        var expected = ByteBuffer()
        for index in 0..<count {
            let value = "value-\(index)"
            expected.writeString("VALUE key\(index) \(index) \(value.utf8.count)\r\n\(value)\r\nEND\r\n")
        }
        #expect(output == expected)
        #expect(closed)

        // The same stream in 1 KiB reads.
        let (chunkedOutput, chunkedClosed) = try Transcript.replay(input, chunkSizes: [1024])
        #expect(chunkedOutput == expected)
        #expect(chunkedClosed)
    }

    @Test func thousandsOfErrorsDoNotStopTheStream() throws {
        var input = ByteBuffer()
        for _ in 0..<3_000 {
            input.writeString("bogus\r\nset k 0 0 1\r\nxy\r\nincr k x noreply\r\n")
        }
        input.writeString("version\r\n")
        let requests = try Decoding.requests(input)
        #expect(requests.count == 3_000 * 4 + 1)
        #expect(requests.last == .version)
        #expect(requests.prefix(4) == [
            Decoding.error(.unknownCommand), Decoding.error(.badDataChunk), Decoding.error(.unknownCommand),
            Decoding.error(.invalidNumericDelta, noreply: true),
        ])
    }
}
