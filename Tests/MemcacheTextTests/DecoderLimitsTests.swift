import MemcacheText
import NIOCore
import TestSupport
import Testing

/// Oversized values, long lines and what the decoder holds in memory meanwhile.
@Suite struct DecoderLimitsTests {
    /// Feeds `chunk` `count` times and checks after each that nothing is being buffered.
    private func feedUnbuffered(
        _ processor: NIOSingleStepByteToMessageProcessor<MemcacheRequestDecoder>,
        _ chunk: ByteBuffer,
        times count: Int,
        into requests: inout [MemcacheRequest]
    ) throws {
        for _ in 0..<count {
            try processor.process(buffer: chunk) { requests.append($0) }
            #expect(processor.unprocessedBytes == 0)
        }
    }

    @Test func twoGigabytesAnnouncedAreSwallowedWithoutBuffering() throws {
        let processor = NIOSingleStepByteToMessageProcessor(MemcacheRequestDecoder())
        var requests: [MemcacheRequest] = []
        try processor.process(buffer: ByteBuffer(string: "set k 0 0 2000000000\r\n")) { requests.append($0) }
        #expect(processor.unprocessedBytes == 0)
        let chunk = ByteBuffer(repeating: UInt8(ascii: "x"), count: 64 << 10)
        try self.feedUnbuffered(processor, chunk, times: 256, into: &requests)
        #expect(requests.isEmpty)

        // The state that bounds memory: a count, not the bytes.
        var decoder = MemcacheRequestDecoder()
        var buffer = ByteBuffer(string: "set k 0 0 2000000000 noreply\r\n")
        buffer.writeRepeatingByte(UInt8(ascii: "x"), count: 1000)
        #expect(try decoder.decode(buffer: &buffer) == nil)
        #expect(buffer.readableBytes == 0)
        #expect(decoder.bytesLeftToSwallow == 2_000_000_002 - 1000)
    }

    @Test func oversizedValueIsRejectedAfterItsBlockAndTheStreamGoesOn() throws {
        let limits = MemcacheRequestDecoder.Limits(maximumValueLength: 1 << 20)
        let processor = NIOSingleStepByteToMessageProcessor(MemcacheRequestDecoder(limits: limits))
        var requests: [MemcacheRequest] = []
        try processor.process(buffer: ByteBuffer(string: "version\r\nset k 0 0 5242880\r\n")) { requests.append($0) }
        #expect(requests == [.version])
        // 5 MiB of data in 64 KiB pieces, never held.
        try self.feedUnbuffered(processor, ByteBuffer(repeating: 0, count: 64 << 10), times: 80, into: &requests)
        #expect(requests == [.version])
        // Whatever the two bytes after the block are, they are swallowed too, as memcached does.
        try processor.process(buffer: ByteBuffer(string: "ZZget a\r\n")) { requests.append($0) }
        #expect(requests == [.version, Decoding.tooLarge(.set, "k"), .retrieval(.init(command: .get, keys: Decoding.keys("a")))])
    }

    @Test func valueLimitIsADecoderParameter() throws {
        let limits = MemcacheRequestDecoder.Limits(maximumValueLength: 10)
        #expect(try Decoding.request("set k 0 0 10\r\n0123456789\r\n", limits: limits) == Decoding.storage(.set, "k", "0123456789"))
        #expect(try Decoding.request("set k 0 0 11 noreply\r\n0123456789a\r\n", limits: limits) == Decoding.tooLarge(.set, "k", noreply: true))
        #expect(try Decoding.request("append k 0 0 11\r\n0123456789a\r\n", limits: limits) == Decoding.tooLarge(.append, "k"))
    }

    @Test func oneMebibyteValueRoundTrips() throws {
        var random = SplitMix64(seed: 42)
        let value = (0..<(1 << 20)).map { _ in UInt8.random(in: 0...255, using: &random) }
        var input = ByteBuffer(string: "set big 7 0 1048576\r\n")
        input.writeBytes(value)
        input.writeString("\r\nget big\r\n")

        let processor = NIOSingleStepByteToMessageProcessor(MemcacheRequestDecoder())
        var requests: [MemcacheRequest] = []
        var remaining = input
        while remaining.readableBytes > 0 {
            var piece = remaining.readSlice(length: min(remaining.readableBytes, Int.random(in: 1...100_000, using: &random)))!
            try processor.process(buffer: piece) { requests.append($0) }
            piece.clear()
        }
        #expect(requests.count == 2)
        guard case .storage(let storage) = requests.first else {
            Issue.record("not a storage request: \(requests)")
            return
        }
        #expect(storage.key == ByteBuffer(string: "big"))
        #expect(storage.flags == 7)
        #expect(Array(storage.data.readableBytesView) == value)

        var reply = ByteBuffer()
        reply.writeMemcacheValue(key: storage.key, flags: storage.flags, data: storage.data)
        reply.writeMemcacheReply(.end)
        var expected = ByteBuffer(string: "VALUE big 7 1048576\r\n")
        expected.writeBytes(value)
        expected.writeString("\r\nEND\r\n")
        #expect(reply == expected)
    }

    // MARK: Lines

    @Test func linesOfUpTo2048BytesAreRead() throws {
        let line = "version" + String(repeating: " ", count: 2048 - 7)
        #expect(try Decoding.requests(line + "\n") == [.version])
        // The `\r` counts: memcached, reading byte by byte, gives up once 2049 bytes hold no `\n`.
        #expect(try Decoding.requests(line + "\r\nversion\r\n") == [Decoding.error(.lineTooLong)])
    }

    @Test func longerLinesCloseTheConnectionEvenBeforeTheirNewline() throws {
        var decoder = MemcacheRequestDecoder()
        var buffer = ByteBuffer(repeating: UInt8(ascii: "a"), count: 2048)
        #expect(try decoder.decode(buffer: &buffer) == nil)
        #expect(buffer.readableBytes == 2048)
        buffer.writeString("a")
        let error = try decoder.decode(buffer: &buffer)
        #expect(error == Decoding.error(.lineTooLong))
        #expect(buffer.readableBytes == 0)
        #expect(decoder.isDiscardingInput)
        buffer.writeString("\r\nversion\r\n")
        #expect(try decoder.decode(buffer: &buffer) == nil)
        #expect(buffer.readableBytes == 0)

        guard case .error(let closing) = error else { return }
        #expect(closing.closesConnection)
        var reply = ByteBuffer()
        #expect(reply.writeMemcacheError(closing) == 0)
    }

    @Test func multiGetLinesMayGrowToTheRetrievalLimit() throws {
        let limits = MemcacheRequestDecoder.Limits(maximumRetrievalLineLength: 10_000)
        let keys = (0..<900).map { "k\($0)" }
        let line = "get " + keys.joined(separator: " ")
        #expect(line.utf8.count > 2048 && line.utf8.count <= 10_000)
        guard case .retrieval(let retrieval) = try Decoding.request(line + "\r\n", limits: limits) else {
            Issue.record("not read")
            return
        }
        #expect(retrieval.keys.count == 900)
        #expect(try Decoding.request(String(repeating: " ", count: 100) + "gets" + line.dropFirst(3) + "\r\n", limits: limits) != nil)

        let tooLong = "get " + String(repeating: "k ", count: 5_000)
        #expect(try Decoding.requests(tooLong, limits: limits) == [Decoding.error(.lineTooLong)])
        #expect(try Decoding.requests(tooLong + "\r\n", limits: limits) == [Decoding.error(.lineTooLong)])
    }

    @Test func onlyGetAndGetsLinesMayGrow() throws {
        let keys = String(repeating: "k ", count: 1_500)
        for line in ["gat 10 " + keys, "stats " + keys, "get" + keys, String(repeating: " ", count: 101) + "get " + keys] {
            #expect(try Decoding.requests(line + "\r\n") == [Decoding.error(.lineTooLong)])
        }
    }

    @Test func aLongMultiGetDripFedIsDecodedOnce() throws {
        let keys = (0..<3_000).map { "key\($0)" }
        let input = ByteBuffer(string: "get " + keys.joined(separator: " ") + "\r\nversion\r\n")
        let processor = NIOSingleStepByteToMessageProcessor(MemcacheRequestDecoder())
        var requests: [MemcacheRequest] = []
        for byte in input.readableBytesView {
            try processor.process(buffer: ByteBuffer(integer: byte)) { requests.append($0) }
        }
        #expect(requests == [.retrieval(.init(command: .get, keys: Decoding.keys(keys.joined(separator: " ")))), .version])
    }
}
