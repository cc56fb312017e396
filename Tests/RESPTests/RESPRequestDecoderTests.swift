import NIOCore
import NIOTestUtils
import RESP
import Testing

private func request(_ arguments: String...) -> RESPRequest {
    RESPRequest(arguments: arguments.map { ByteBuffer(string: $0) })
}

private func multibulk(_ arguments: [String]) -> String {
    "*\(arguments.count)\r\n" + arguments.map { "$\($0.utf8.count)\r\n\($0)\r\n" }.joined()
}

/// Decodes everything in `input`, or returns the protocol error that stopped decoding.
private func decodeAll(
    _ input: String,
    decoder: RESPRequestDecoder = RESPRequestDecoder()
) -> (requests: [[String]], error: RESPProtocolError?, leftover: Int) {
    var decoder = decoder
    var buffer = ByteBuffer(string: input)
    var requests: [[String]] = []
    var argv: [ByteBuffer] = []
    do {
        while let request = try decoder.decode(buffer: &buffer) {
            request.arguments(into: &argv)
            requests.append(argv.map { String(buffer: $0) })
        }
    } catch let error as RESPProtocolError {
        return (requests, error, buffer.readableBytes)
    } catch {
        Issue.record("unexpected error \(error)")
    }
    return (requests, nil, buffer.readableBytes)
}

@Suite struct RESPRequestDecoderTests {
    @Test func decodesEverySplitOfAPipeline() throws {
        let pipeline: [(String, [RESPRequest])] = [
            (multibulk(["SADD", "queue", "a\r\nb"]), [request("SADD", "queue", "a\r\nb")]),
            ("PING\r\n", [request("PING")]),
            ("ECHO \"a b\"\n", [request("ECHO", "a b")]),
            ("*0\r\n*-1\r\n\r\n" + multibulk(["SPOP", "q", "3"]), [request("SPOP", "q", "3")]),
            (multibulk(["ECHO", ""]), [request("ECHO", "")]),
            (multibulk(["SADD", "q", String(repeating: "x", count: 5000)]),
             [request("SADD", "q", String(repeating: "x", count: 5000))]),
        ]
        try ByteToMessageDecoderVerifier.verifyDecoder(
            stringInputOutputPairs: pipeline,
            decoderFactory: { RESPRequestDecoder() }
        )
    }

    @Test func decodesThousandsOfPipelinedRequestsFromOneBuffer() {
        let input = String(repeating: multibulk(["SADD", "q", "member"]), count: 10_000)
        let result = decodeAll(input)
        #expect(result.error == nil)
        #expect(result.requests.count == 10_000)
        #expect(result.requests.allSatisfy { $0 == ["SADD", "q", "member"] })
        #expect(result.leftover == 0)
    }

    @Test func binaryArgumentsKeepEveryByte() {
        let payload = "a\0b\r\nc\u{7f}"
        let result = decodeAll(multibulk(["SADD", "q", payload]))
        #expect(result.requests == [["SADD", "q", payload]])
    }

    @Test func partialFrameWaitsAndLeavesTheReaderIndex() throws {
        var decoder = RESPRequestDecoder()
        let whole = multibulk(["SADD", "q", "hello"])
        var buffer = ByteBuffer(string: String(whole.dropLast(3)))
        #expect(try decoder.decode(buffer: &buffer) == nil)
        #expect(buffer.readerIndex == 0)
        buffer.writeString(String(whole.suffix(3)))
        #expect(try decoder.decode(buffer: &buffer) == request("SADD", "q", "hello"))
        #expect(buffer.readableBytes == 0)
    }

    @Test(arguments: [
        ("*abc\r\n", RESPProtocolError.invalidMultibulkLength),
        ("*1048577\r\n", .invalidMultibulkLength),
        ("*1\r\n$abc\r\n", .invalidBulkLength),
        ("*1\r\n$-1\r\n", .invalidBulkLength),
        ("*1\r\n$1048577\r\n", .invalidBulkLength),
        ("*1\r\n$01\r\n", .invalidBulkLength),
        ("*1\r\nx\r\n", RESPProtocolError(reason: "expected '$', got 'x'")),
        ("*1\r\n*1\r\n", RESPProtocolError(reason: "expected '$', got '*'")),
        ("ECHO \"unbalanced\r\n", .unbalancedQuotes),
        ("ECHO \"a\"b\r\n", .unbalancedQuotes),
        ("ECHO 'a\r\n", .unbalancedQuotes),
        ("*1\r\n$4\r\nPINGXY", .missingCRLFAfterBulk),
        ("*1\rX", .invalidMultibulkLength),
    ])
    func malformedInputIsAProtocolError(input: String, expected: RESPProtocolError) {
        #expect(decodeAll(input).error == expected)
    }

    @Test func requestsBeforeAnErrorAreStillDecoded() {
        let result = decodeAll("PING\r\n*abc\r\n")
        #expect(result.requests == [["PING"]])
        #expect(result.error == .invalidMultibulkLength)
    }

    @Test func headerLinesAndInlineCommandsAreBounded() {
        let limits = RESPRequestDecoder.Limits(maximumInlineLength: 100)
        let decoder = RESPRequestDecoder(limits: limits)
        #expect(decodeAll(String(repeating: "A", count: 101), decoder: decoder).error == .tooBigInlineRequest)
        #expect(decodeAll(String(repeating: "A", count: 99), decoder: decoder).error == nil)
        #expect(decodeAll("*" + String(repeating: "1", count: 101), decoder: decoder).error == .tooBigMultibulkCountString)
        #expect(decodeAll("*1\r\n$" + String(repeating: "1", count: 101), decoder: decoder).error == .tooBigBulkCountString)
    }

    @Test func argumentsOverTheLimitAreRejectedBeforeTheyArrive() {
        let decoder = RESPRequestDecoder(limits: .init(maximumBulkLength: 10, maximumArgumentCount: 3))
        #expect(decodeAll("*1\r\n$11\r\n", decoder: decoder).error == .invalidBulkLength)
        #expect(decodeAll("*4\r\n", decoder: decoder).error == .invalidMultibulkLength)
        #expect(decodeAll(multibulk(["ECHO", "0123456789"]), decoder: decoder).requests == [["ECHO", "0123456789"]])
        #expect(decodeAll("ECHO 01234567890\r\n", decoder: decoder).error == .invalidBulkLength)
        #expect(decodeAll("ECHO \"0123456789\"\r\n", decoder: decoder).requests == [["ECHO", "0123456789"]])
    }

    @Test func wholeRequestIsBounded() {
        let decoder = RESPRequestDecoder(limits: .init(maximumBulkLength: 100, maximumRequestLength: 200))
        let big = String(repeating: "x", count: 100)
        #expect(decodeAll("*3\r\n$4\r\nSADD\r\n$\(big.count)\r\n\(big)\r\n$\(big.count)\r\n", decoder: decoder).error
            == .requestTooLarge)
    }

    @Test func unauthenticatedClientsGetRedisLimits() {
        var decoder = RESPRequestDecoder()
        decoder.requiresAuthentication = true
        #expect(decodeAll("*11\r\n", decoder: decoder).error == .unauthenticatedMultibulkLength)
        #expect(decodeAll("*1\r\n$16385\r\n", decoder: decoder).error == .unauthenticatedBulkLength)
        #expect(decodeAll(multibulk(["AUTH", "secret"]), decoder: decoder).requests == [["AUTH", "secret"]])
    }

    @Test func largeFrameArrivingInPiecesIsScannedIncrementally() throws {
        var decoder = RESPRequestDecoder()
        let members = (0..<20_000).map { "member-\($0)" }
        let input = ByteBuffer(string: multibulk(["SADD", "q"] + members))
        var buffer = ByteBuffer()
        var decoded: RESPRequest?
        var offset = 0
        while offset < input.readableBytes {
            let length = min(1000, input.readableBytes - offset)
            buffer.writeImmutableBuffer(input.getSlice(at: offset, length: length)!)
            offset += length
            if let request = try decoder.decode(buffer: &buffer) {
                #expect(decoded == nil)
                decoded = request
            }
        }
        let request = try #require(decoded)
        #expect(request.count == 20_002)
        var argv: [ByteBuffer] = []
        request.arguments(into: &argv)
        #expect(String(buffer: argv[20_001]) == "member-19999")
    }
}

@Suite struct InlineCommandTests {
    private func inline(_ line: String) -> [String]? {
        let result = decodeAll(line + "\r\n")
        return result.error == nil ? result.requests.first : nil
    }

    @Test func splitsLikeRedis() {
        #expect(inline("SADD q a") == ["SADD", "q", "a"])
        #expect(inline("  SADD\t q   a  ") == ["SADD", "q", "a"])
        #expect(inline(#"ECHO "a b\x41\n" 'c d' 'it\'s'"#) == ["ECHO", "a bA\n", "c d", "it's"])
        #expect(inline(#"ECHO a"b c""#) == ["ECHO", "ab c"])
        #expect(inline(#"ECHO "\q""#) == ["ECHO", "q"])
        #expect(inline(#"ECHO """#) == ["ECHO", ""])
    }

    @Test func bareNewlineEndsALine() {
        #expect(decodeAll("PING\nPING\n").requests == [["PING"], ["PING"]])
    }

    @Test func blankLinesAreSkipped() {
        #expect(decodeAll("\r\n   \r\n\nPING\r\n").requests == [["PING"]])
    }
}
