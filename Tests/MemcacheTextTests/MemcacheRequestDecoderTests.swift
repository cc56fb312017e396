import MemcacheText
import NIOCore
import Testing

/// Each command's happy path, decoded to the request a server switches over.
@Suite struct MemcacheRequestDecoderTests {
    @Test func storageCommandsCarryTheirFields() throws {
        #expect(try Decoding.request("set k 5 100 3\r\nabc\r\n") == Decoding.storage(.set, "k", flags: 5, exptime: 100, "abc"))
        #expect(try Decoding.request("add k 0 0 1\r\nx\r\n") == Decoding.storage(.add, "k", "x"))
        #expect(try Decoding.request("replace k 0 0 1\r\nx\r\n") == Decoding.storage(.replace, "k", "x"))
        #expect(try Decoding.request("append k 0 0 1\r\nx\r\n") == Decoding.storage(.append, "k", "x"))
        #expect(try Decoding.request("prepend k 0 0 1\r\nx\r\n") == Decoding.storage(.prepend, "k", "x"))
        #expect(try Decoding.request("cas k 1 2 1 99\r\nx\r\n") == Decoding.storage(.cas, "k", flags: 1, exptime: 2, "x", cas: 99))
        #expect(
            try Decoding.request("cas k 0 0 1 18446744073709551615 noreply\r\nx\r\n")
                == Decoding.storage(.cas, "k", "x", cas: .max, noreply: true)
        )
        #expect(try Decoding.request("set k 4294967295 -1 0 noreply\r\n\r\n") == Decoding.storage(.set, "k", flags: .max, exptime: -1, "", noreply: true))
    }

    @Test func storageDataMayHoldAnyBytes() throws {
        let data = "a\r\nb\0c\nEND\r\n get x\r\n"
        let input = "set k 0 0 \(data.utf8.count)\r\n\(data)\r\n"
        #expect(try Decoding.request(input) == Decoding.storage(.set, "k", data))
    }

    @Test func queueKeysWithKestrelOptionsAreJustKeys() throws {
        #expect(try Decoding.request("set q/t=500/open 0 0 1\r\nx\r\n") == Decoding.storage(.set, "q/t=500/open", "x"))
        #expect(try Decoding.request("get q/t=500/open q2/close/open\r\n") == .retrieval(.init(command: .get, keys: Decoding.keys("q/t=500/open q2/close/open"))))
    }

    @Test func utf8AndLongestKeysAreAccepted() throws {
        #expect(try Decoding.request("get é日本\r\n") == .retrieval(.init(command: .get, keys: Decoding.keys("é日本"))))
        let longest = String(repeating: "k", count: 250)
        #expect(try Decoding.request("delete \(longest)\r\n") == .delete(key: ByteBuffer(string: longest), noreply: false))
    }

    @Test func retrievalCommandsCarryKeysAndExptime() throws {
        #expect(try Decoding.request("get a\r\n") == .retrieval(.init(command: .get, keys: Decoding.keys("a"))))
        #expect(try Decoding.request("gets a b\r\n") == .retrieval(.init(command: .gets, keys: Decoding.keys("a b"))))
        #expect(try Decoding.request("gat 30 a b\r\n") == .retrieval(.init(command: .gat, exptime: 30, keys: Decoding.keys("a b"))))
        #expect(try Decoding.request("gats -1 a\r\n") == .retrieval(.init(command: .gats, exptime: -1, keys: Decoding.keys("a"))))
        #expect(try Decoding.request("bget a\r\n") == .retrieval(.init(command: .get, keys: Decoding.keys("a"))))
        // gat with no key at all: memcached answers END.
        #expect(try Decoding.request("gat 30\r\n") == .retrieval(.init(command: .gat, exptime: 30, keys: Decoding.keys(""))))
    }

    @Test func multiGetKeysIterateInOrderWithoutAnArray() throws {
        let names = (0..<500).map { "key:\($0)" }
        guard case .retrieval(let retrieval) = try Decoding.request("get   " + names.joined(separator: "  ") + "  \r\n") else {
            Issue.record("not a retrieval")
            return
        }
        #expect(retrieval.keys.map { String(buffer: $0) } == names)
        #expect(retrieval.keys.count == 500)
        #expect(retrieval.keys.first == ByteBuffer(string: "key:0"))
        #expect(!retrieval.keys.isEmpty)
        #expect(!retrieval.command.returnsCAS && !retrieval.command.touches)
    }

    @Test func otherCommands() throws {
        #expect(try Decoding.request("delete k\r\n") == .delete(key: ByteBuffer(string: "k"), noreply: false))
        #expect(try Decoding.request("delete k 0\r\n") == .delete(key: ByteBuffer(string: "k"), noreply: false))
        #expect(try Decoding.request("delete k noreply\r\n") == .delete(key: ByteBuffer(string: "k"), noreply: true))
        #expect(try Decoding.request("delete k 0 noreply\r\n") == .delete(key: ByteBuffer(string: "k"), noreply: true))
        #expect(try Decoding.request("incr k 18446744073709551615\r\n") == .increment(key: ByteBuffer(string: "k"), delta: .max, noreply: false))
        #expect(try Decoding.request("decr k 7 noreply\r\n") == .decrement(key: ByteBuffer(string: "k"), delta: 7, noreply: true))
        #expect(try Decoding.request("touch k 60\r\n") == .touch(key: ByteBuffer(string: "k"), exptime: 60, noreply: false))
        #expect(try Decoding.request("touch k -1 noreply\r\n") == .touch(key: ByteBuffer(string: "k"), exptime: -1, noreply: true))
        #expect(try Decoding.request("flush_all\r\n") == .flushAll(delay: nil, noreply: false))
        #expect(try Decoding.request("flush_all 10\r\n") == .flushAll(delay: 10, noreply: false))
        #expect(try Decoding.request("flush_all noreply\r\n") == .flushAll(delay: nil, noreply: true))
        #expect(try Decoding.request("flush_all 0 noreply\r\n") == .flushAll(delay: 0, noreply: true))
        #expect(try Decoding.request("version\r\n") == .version)
        #expect(try Decoding.request("verbosity 1\r\n") == .verbosity(level: 1, noreply: false))
        #expect(try Decoding.request("verbosity 3 noreply\r\n") == .verbosity(level: 3, noreply: true))
        #expect(try Decoding.request("quit\r\n") == .quit)
    }

    @Test func statsArgumentsAreHandedOver() throws {
        #expect(try Decoding.request("stats\r\n") == .stats(arguments: Decoding.keys("")))
        #expect(try Decoding.request("stats queue\r\n") == .stats(arguments: Decoding.keys("queue")))
        #expect(try Decoding.request("stats  detail on\r\n") == .stats(arguments: Decoding.keys("detail on")))
        guard case .stats(let arguments) = try Decoding.request("stats settings\r\n") else {
            Issue.record("not stats")
            return
        }
        #expect(arguments.first == ByteBuffer(string: "settings"))
        #expect(arguments.count == 1)
    }

    @Test func exptimesAndFlagsAreReadAsMemcachedReadsThem() throws {
        // memcached keeps the low 32 bits: see the recorded transcripts for the replies.
        #expect(try Decoding.request("set k 4294967296 0 1\r\nx\r\n") == Decoding.storage(.set, "k", flags: 0, "x"))
        #expect(try Decoding.request("set k 0 4294967297 1\r\nx\r\n") == Decoding.storage(.set, "k", exptime: 1, "x"))
        #expect(try Decoding.request("set k 0 2592000 1\r\nx\r\n") == Decoding.storage(.set, "k", exptime: 2_592_000, "x"))
        #expect(try Decoding.request("set k 0 0 4294967297\r\nx\r\n") == Decoding.storage(.set, "k", "x"))
        #expect(try Decoding.request("touch k 2147483648\r\n") == .touch(key: ByteBuffer(string: "k"), exptime: -2_147_483_648, noreply: false))
    }

    @Test func lineEndingsMayBeBareNewlines() throws {
        #expect(try Decoding.requests("get a\nversion\n") == [.retrieval(.init(command: .get, keys: Decoding.keys("a"))), .version])
        #expect(try Decoding.request("set k 0 0 1\nx\r\n") == Decoding.storage(.set, "k", "x"))
    }

    @Test func noreplyMustBeTheLastTokenAndLowercase() throws {
        #expect(try Decoding.request("incr k 1 NOREPLY\r\n") == .increment(key: ByteBuffer(string: "k"), delta: 1, noreply: false))
        #expect(try Decoding.request("touch k 1 noreplyx\r\n") == .touch(key: ByteBuffer(string: "k"), exptime: 1, noreply: false))
    }

    @Test func keysAndDataAreSlicesOfTheInputNotCopies() throws {
        let input = ByteBuffer(string: "set key 0 0 5\r\nhello\r\nget a b\r\n")
        let processor = NIOSingleStepByteToMessageProcessor(MemcacheRequestDecoder())
        var requests: [MemcacheRequest] = []
        try processor.process(buffer: input) { requests.append($0) }
        let inputStart = input.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        func address(_ buffer: ByteBuffer) -> UInt {
            buffer.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        }
        guard requests.count == 2, case .storage(let storage) = requests[0], case .retrieval(let retrieval) = requests[1] else {
            Issue.record("unexpected \(requests)")
            return
        }
        #expect(address(storage.key) == inputStart + 4)
        #expect(address(storage.data) == inputStart + 15)
        #expect(retrieval.keys.map(address) == [inputStart + 26, inputStart + 28])
    }

    @Test func partialInputLeavesTheReaderIndexAtTheRequestStart() throws {
        var decoder = MemcacheRequestDecoder()
        var buffer = ByteBuffer(string: "version\r\nset k 0 0 5\r\nhel")
        #expect(try decoder.decode(buffer: &buffer) == .version)
        let requestStart = buffer.readerIndex
        #expect(try decoder.decode(buffer: &buffer) == nil)
        #expect(buffer.readerIndex == requestStart)
        buffer.writeString("lo\r")
        #expect(try decoder.decode(buffer: &buffer) == nil)
        #expect(buffer.readerIndex == requestStart)
        buffer.writeString("\n")
        #expect(try decoder.decode(buffer: &buffer) == Decoding.storage(.set, "k", "hello"))
        #expect(buffer.readableBytes == 0)
    }

    @Test func incompleteRequestAtEndOfStreamIsDropped() throws {
        var decoder = MemcacheRequestDecoder()
        var buffer = ByteBuffer(string: "version\r\nget a")
        #expect(try decoder.decodeLast(buffer: &buffer, seenEOF: true) == .version)
        #expect(try decoder.decodeLast(buffer: &buffer, seenEOF: true) == nil)
        #expect(buffer.readableBytes == 0)
    }

    @Test func quitEndsTheStream() throws {
        var decoder = MemcacheRequestDecoder()
        var buffer = ByteBuffer(string: "quit\r\nversion\r\n")
        #expect(try decoder.decode(buffer: &buffer) == .quit)
        #expect(decoder.isDiscardingInput)
        #expect(buffer.readableBytes == 0)
        buffer.writeString("version\r\n")
        #expect(try decoder.decode(buffer: &buffer) == nil)
        #expect(buffer.readableBytes == 0)
    }
}

/// `--auth-file` mode, beyond the recorded transcripts.
@Suite struct AuthenticationDecodingTests {
    @Test func credentialsAreSlicesAndModeIsTheServersToLeave() throws {
        var decoder = MemcacheRequestDecoder()
        decoder.requiresAuthentication = true
        var buffer = ByteBuffer(string: "set any 0 0 14\r\n user  secret \r\nversion\r\n")
        #expect(try decoder.decode(buffer: &buffer) == .authenticate(user: ByteBuffer(string: "user"), password: ByteBuffer(string: "secret")))
        // Still unauthenticated until the server says otherwise.
        #expect(try decoder.decode(buffer: &buffer) == Decoding.error(.unauthenticated))
        buffer.writeString("version\r\n")
        decoder.requiresAuthentication = false
        #expect(try decoder.decode(buffer: &buffer) == .version)
    }

    @Test func oversizedCredentialsCloseTheConnection() throws {
        var decoder = MemcacheRequestDecoder()
        decoder.requiresAuthentication = true
        var buffer = ByteBuffer(string: "set a 0 0 100000\r\n")
        #expect(try decoder.decode(buffer: &buffer) == Decoding.error(.lineTooLong))
        #expect(decoder.isDiscardingInput)
    }
}
