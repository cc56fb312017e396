import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Decodes memcached text-protocol requests, with memcached 1.6's limits, error replies and quirks.
///
/// - Returns `nil` on partial input and leaves the reader index where the request starts. A line
///   that arrives in pieces is searched for its `\n` once, not once per piece; a storage command
///   waiting for its data block is not parsed again until the whole block can be there.
/// - Nothing is copied: keys, data and words are slices of the input. No `String` is built.
/// - Command names are matched on bytes, case-sensitively, as memcached's `strcmp` does.
/// - Lines end with `\r\n` or a bare `\n`; a data block must end with `\r\n`.
///
/// Where memcached's behaviour depends on how the bytes happened to arrive, this decoder takes
/// the rule memcached applies when they arrive one by one, so the result never depends on chunking:
/// - memcached closes a connection whose buffered bytes pass 2048 without a `\n`, but processes a
///   longer line that came in a single read. Here any line of more than
///   ``Limits/maximumLineLength`` bytes before its `\n` closes the connection, silently as memcached
///   does — except lines that start (after at most 100 spaces) with `get ` or `gets `, which memcached
///   lets grow for large multi-gets; those may reach ``Limits/maximumRetrievalLineLength``.
///
/// Other decisions:
/// - Keys follow ``MemcacheKeyRules`` (memcached's ASCII protocol checks only their length).
/// - A value longer than ``Limits/maximumValueLength``: its `<bytes>` + 2 bytes are skipped as they
///   arrive, never buffered (``bytesLeftToSwallow``), whatever they hold; then, as memcached does, the
///   decoder yields the `SERVER_ERROR object too large for cache` error. memcached's own limit (`-I`)
///   also counts its item header; this one counts the data alone, matching `--max-message-size`.
/// - Meta commands (`mg`, `ms`, `mn`...) and admin commands outside the SPEC (`shutdown`, `slabs`,
///   `lru_crawler`, `watch`...) are unknown commands: `ERROR`.
/// - After `quit`, or an error that closes the connection, all further input is discarded.
///
/// With ``requiresAuthentication`` set, lines are read as memcached's `--auth-file` mode reads them
/// (see ``requiresAuthentication``).
public struct MemcacheRequestDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = MemcacheRequest

    /// Bounds on what one request may hold.
    public struct Limits: Sendable, Hashable {
        /// memcached's limit on a command line (bytes before the `\n`).
        public static let maximumLineLength = 2048

        /// The largest data block (memcached's `-I`; the SPEC's `--max-message-size`). Default 1 MiB.
        public var maximumValueLength: Int
        /// The longest `get`/`gets` line (memcached has none but memory). Default 1 MiB; never
        /// less than ``maximumLineLength``.
        public var maximumRetrievalLineLength: Int

        /// Whether keys may hold control characters, as memcached allows (see ``MemcacheKeyRules``).
        public var allowsControlCharactersInKeys: Bool

        public init(
            maximumValueLength: Int = 1 << 20,
            maximumRetrievalLineLength: Int = 1 << 20,
            allowsControlCharactersInKeys: Bool = false
        ) {
            self.allowsControlCharactersInKeys = allowsControlCharactersInKeys
            // The data length is a 32-bit number on the wire; tokens are located with 32-bit offsets.
            self.maximumValueLength = min(max(maximumValueLength, 0), Int(Int32.max) - 2)
            self.maximumRetrievalLineLength = min(
                max(maximumRetrievalLineLength, Self.maximumLineLength),
                Int(Int32.max) - 2
            )
        }
    }

    /// The limits in force; they may be changed between requests.
    public var limits: Limits

    /// While set, the decoder reads what memcached 1.6 reads from a client that has not authenticated
    /// under `--auth-file` (`-Y`), its `try_read_command_asciiauth`:
    /// - a line `set <any> <any> <any> <length> ...` followed by `<length>` bytes and `\r\n`, holding
    ///   `user password` → ``MemcacheRequest/authenticate(user:password:)``. Key, flags and exptime
    ///   are not looked at; the length is read as memcached reads flags (low 32 bits);
    /// - any other line → the ``MemcacheRequestError/Reason/unauthenticated`` error;
    /// - a block not ending in `\r\n` → ``MemcacheRequestError/Reason/badCommandLineTermination``;
    /// - a block with fewer than two words → ``MemcacheRequestError/Reason/badAuthenticationTokenFormat``.
    ///
    /// The server checks the credentials, answers `STORED` and clears this flag, or answers
    /// `CLIENT_ERROR authentication failure` and leaves it set. Blocks longer than
    /// ``Limits/maximumLineLength`` close the connection (memcached would wait for them forever).
    /// memcached also keeps only the last reply of each read in this mode; that is not reproduced.
    public var requiresAuthentication = false {
        didSet {
            // A half-read line is read again under the new rules.
            self.lineBytesScanned = 0
            self.bytesNeeded = 0
        }
    }

    /// Bytes of an oversized data block still to be skipped.
    public private(set) var bytesLeftToSwallow = 0

    /// The `object too large` error to yield once the oversized block has been skipped.
    private var errorAfterSwallowing: MemcacheRequestError?

    /// Whether the decoder has seen `quit` or a connection-closing error and now drops all input.
    public private(set) var isDiscardingInput = false

    /// Bytes from the reader index known to hold no `\n` (a line still arriving).
    private var lineBytesScanned = 0

    /// No request can complete before this many bytes are readable.
    private var bytesNeeded = 0

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// What one look at the buffer found.
    private enum Step {
        case needMoreData
        /// A request, and the number of bytes it took.
        case request(MemcacheRequest, length: Int)
        /// An oversized storage command: its line, then `swallow` bytes to skip.
        case tooLarge(MemcacheRequestError, lineLength: Int, swallow: Int)
        /// An error after which memcached closes the connection.
        case close(MemcacheRequestError.Reason)
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> MemcacheRequest? {
        if self.isDiscardingInput {
            buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
            return nil
        }
        if self.bytesLeftToSwallow > 0 {
            let swallowed = min(self.bytesLeftToSwallow, buffer.readableBytes)
            buffer.moveReaderIndex(forwardBy: swallowed)
            self.bytesLeftToSwallow -= swallowed
            if self.bytesLeftToSwallow > 0 {
                return nil
            }
            if let error = self.errorAfterSwallowing {
                self.errorAfterSwallowing = nil
                return .error(error)
            }
        }
        guard buffer.readableBytes > 0, buffer.readableBytes >= self.bytesNeeded else {
            return nil
        }

        let step = buffer.withUnsafeReadableBytes { bytes in
            self.requiresAuthentication ? self.authenticationStep(bytes, in: buffer) : self.step(bytes, in: buffer)
        }

        switch step {
        case .needMoreData:
            return nil
        case .request(let request, let length):
            buffer.moveReaderIndex(forwardBy: length)
            self.lineBytesScanned = 0
            self.bytesNeeded = 0
            if case .quit = request {
                self.isDiscardingInput = true
                buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
            }
            return request
        case .tooLarge(let error, let lineLength, let swallow):
            buffer.moveReaderIndex(forwardBy: lineLength)
            self.lineBytesScanned = 0
            self.bytesNeeded = 0
            self.bytesLeftToSwallow = swallow
            self.errorAfterSwallowing = error
            return try self.decode(buffer: &buffer)
        case .close(let reason):
            self.isDiscardingInput = true
            buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
            return .error(MemcacheRequestError(reason))
        }
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> MemcacheRequest? {
        if let request = try self.decode(buffer: &buffer) {
            return request
        }
        // The client went away in the middle of a request: memcached drops it, and so do we.
        buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
        return nil
    }

    // MARK: - Lines

    /// Finds the next command line in `bytes` (the readable bytes of `buffer`) and decodes it.
    private mutating func step(_ bytes: UnsafeRawBufferPointer, in buffer: ByteBuffer) -> Step {
        let base = bytes.baseAddress!
        let found = memchr(base + self.lineBytesScanned, Int32(UInt8(ascii: "\n")), bytes.count - self.lineBytesScanned)
        guard let found else {
            if bytes.count > Limits.maximumLineLength, !self.mayGrowLong(bytes, lineLength: bytes.count) {
                return .close(.lineTooLong)
            }
            self.lineBytesScanned = bytes.count
            self.bytesNeeded = bytes.count + 1
            return .needMoreData
        }
        let newline = UnsafeRawPointer(found) - base
        if newline > Limits.maximumLineLength, !self.mayGrowLong(bytes, lineLength: newline) {
            return .close(.lineTooLong)
        }
        // memcached strips one `\r` before the `\n`, and only from lines longer than one byte.
        var lineEnd = newline
        if lineEnd > 1, bytes[lineEnd - 1] == UInt8(ascii: "\r") {
            lineEnd -= 1
        }
        let line = UnsafeRawBufferPointer(rebasing: bytes[0..<lineEnd])
        let tokens = CommandLineTokens(line)
        return self.command(line, tokens, lineLength: newline + 1, bytes: bytes, buffer: buffer)
    }

    /// Decodes what an unauthenticated client sends, as memcached's `try_read_command_asciiauth`.
    private mutating func authenticationStep(_ bytes: UnsafeRawBufferPointer, in buffer: ByteBuffer) -> Step {
        let base = bytes.baseAddress!
        let found = memchr(base + self.lineBytesScanned, Int32(UInt8(ascii: "\n")), bytes.count - self.lineBytesScanned)
        guard let found else {
            if bytes.count > Limits.maximumLineLength {
                return .close(.lineTooLong)
            }
            self.lineBytesScanned = bytes.count
            self.bytesNeeded = bytes.count + 1
            return .needMoreData
        }
        let newline = UnsafeRawPointer(found) - base
        if newline > Limits.maximumLineLength {
            return .close(.lineTooLong)
        }
        // memcached keeps the `\r` here: `strtoul` stops at it.
        let line = UnsafeRawBufferPointer(rebasing: bytes[0..<newline])
        let tokens = CommandLineTokens(line)
        let lineLength = newline + 1
        guard tokens.count >= 5, line.token(tokens[0], is: "set"),
            let announcedLength = MemcacheNumber.unsigned32(line.token(tokens[4]))
        else {
            return .request(.error(MemcacheRequestError(.unauthenticated)), length: lineLength)
        }
        let payloadLength = Int(announcedLength)
        if payloadLength > Limits.maximumLineLength {
            return .close(.lineTooLong)
        }
        let requestLength = lineLength + payloadLength + 2
        guard bytes.count >= requestLength else {
            self.lineBytesScanned = newline
            self.bytesNeeded = requestLength
            return .needMoreData
        }
        guard bytes[requestLength - 2] == UInt8(ascii: "\r"), bytes[requestLength - 1] == UInt8(ascii: "\n") else {
            return .request(.error(MemcacheRequestError(.badCommandLineTermination)), length: requestLength)
        }
        let payload = UnsafeRawBufferPointer(rebasing: bytes[lineLength..<(lineLength + payloadLength)])
        let words = CommandLineTokens(payload)
        guard words.count >= 2 else {
            return .request(.error(MemcacheRequestError(.badAuthenticationTokenFormat)), length: requestLength)
        }
        let user = buffer.getSlice(at: buffer.readerIndex + lineLength + words[0].lowerBound, length: words[0].count)!
        let password = buffer.getSlice(at: buffer.readerIndex + lineLength + words[1].lowerBound, length: words[1].count)!
        return .request(.authenticate(user: user, password: password), length: requestLength)
    }

    /// Whether a line of `lineLength` bytes may exceed 2048: a multi-get, as memcached's
    /// `try_read_command_ascii` allows, within the retrieval line limit.
    private func mayGrowLong(_ bytes: UnsafeRawBufferPointer, lineLength: Int) -> Bool {
        guard lineLength <= self.limits.maximumRetrievalLineLength else { return false }
        var start = 0
        while start < bytes.count, bytes[start] == UInt8(ascii: " ") {
            start += 1
        }
        guard start <= 100 else { return false }
        let rest = UnsafeRawBufferPointer(rebasing: bytes[start...])
        return rest.starts(with: "get ".utf8) || rest.starts(with: "gets ".utf8)
    }

    // MARK: - Commands

    /// Dispatches on the command name, as memcached's `process_command_ascii`.
    private mutating func command(
        _ line: UnsafeRawBufferPointer,
        _ tokens: CommandLineTokens,
        lineLength: Int,
        bytes: UnsafeRawBufferPointer,
        buffer: ByteBuffer
    ) -> Step {
        // memcached: at least one token, and no command is shorter than two bytes.
        guard tokens.count > 0, tokens[0].count >= 2 else {
            return .request(.error(MemcacheRequestError(.unknownCommand)), length: lineLength)
        }
        let name = tokens[0]
        let context = LineContext(
            line: line,
            tokens: tokens,
            lineLength: lineLength,
            buffer: buffer,
            controlCharacters: self.limits.allowsControlCharactersInKeys
        )
        switch line[name.lowerBound] {
        case UInt8(ascii: "g"):
            if line.token(name, is: "get") { return context.retrieval(.get) }
            if line.token(name, is: "gets") { return context.retrieval(.gets) }
            if line.token(name, is: "gat") { return context.retrieval(.gat) }
            if line.token(name, is: "gats") { return context.retrieval(.gats) }
            return context.unknownCommand
        case UInt8(ascii: "s"):
            if line.token(name, is: "set") { return self.storage(.set, context, bytes: bytes) }
            if line.token(name, is: "stats") { return context.stats }
            return context.unknownCommand
        case UInt8(ascii: "a"):
            if line.token(name, is: "add") { return self.storage(.add, context, bytes: bytes) }
            if line.token(name, is: "append") { return self.storage(.append, context, bytes: bytes) }
            return context.unknownCommand
        case UInt8(ascii: "c"):
            if line.token(name, is: "cas") { return self.storage(.cas, context, bytes: bytes) }
            return context.unknownCommand
        case UInt8(ascii: "i"):
            if line.token(name, is: "incr") { return context.arithmetic(increment: true) }
            return context.unknownCommand
        case UInt8(ascii: "d"):
            if line.token(name, is: "delete") { return context.delete }
            if line.token(name, is: "decr") { return context.arithmetic(increment: false) }
            return context.unknownCommand
        case UInt8(ascii: "t"):
            if line.token(name, is: "touch") { return context.touch }
            return context.unknownCommand
        case UInt8(ascii: "m") where name.count == 2:
            // Meta commands: not part of this server's protocol.
            return context.unknownCommand
        default:
            if line.token(name, is: "replace") { return self.storage(.replace, context, bytes: bytes) }
            if line.token(name, is: "prepend") { return self.storage(.prepend, context, bytes: bytes) }
            if line.token(name, is: "bget") { return context.retrieval(.get) }
            if line.token(name, is: "flush_all") { return context.flushAll }
            if line.token(name, is: "version") { return context.request(.version) }
            if line.token(name, is: "quit") { return context.request(.quit) }
            if line.token(name, is: "verbosity") { return context.verbosity }
            return context.unknownOrHTTP
        }
    }

    /// `set`/`add`/`replace`/`append`/`prepend`/`cas`, as memcached's `process_update_command`
    /// followed by `complete_nread_ascii`.
    private mutating func storage(
        _ command: MemcacheStorageCommand,
        _ context: LineContext,
        bytes: UnsafeRawBufferPointer
    ) -> Step {
        let line = context.line
        let tokens = context.tokens
        let argumentCount = command == .cas ? 6 : 5
        guard tokens.count == argumentCount || tokens.count == argumentCount + 1 else {
            return context.unknownCommand
        }
        let noreply = context.endsWithNoreply
        let key = tokens[1]
        guard MemcacheKeyRules.isValid(line.token(key), controlCharacters: context.controlCharacters) else {
            return context.error(.badCommandLineFormat, noreply: noreply)
        }
        guard let flags = MemcacheNumber.unsigned32(line.token(tokens[2])),
            let exptime = MemcacheNumber.signed32(line.token(tokens[3])),
            let announcedLength = MemcacheNumber.signed32(line.token(tokens[4]))
        else {
            return context.error(.badCommandLineFormat, noreply: noreply)
        }
        var casUnique: UInt64 = 0
        if command == .cas {
            guard let unique = MemcacheNumber.unsigned64(line.token(tokens[5])) else {
                return context.error(.badCommandLineFormat, noreply: noreply)
            }
            casUnique = unique
        }
        guard announcedLength >= 0, announcedLength <= Int32.max - 2 else {
            return context.error(.badCommandLineFormat, noreply: noreply)
        }
        let dataLength = Int(announcedLength)
        if dataLength > self.limits.maximumValueLength {
            var error = MemcacheRequestError(.objectTooLarge, noreply: noreply)
            // Kept apart from the receive buffer: skipping the block may take many reads.
            error.rejectedStorage = (command, ByteBuffer(bytes: line.token(key)))
            return .tooLarge(error, lineLength: context.lineLength, swallow: dataLength + 2)
        }

        let requestLength = context.lineLength + dataLength + 2
        guard bytes.count >= requestLength else {
            // The line is known; wait for the block without searching or parsing again.
            self.lineBytesScanned = context.lineLength - 1
            self.bytesNeeded = requestLength
            return .needMoreData
        }
        guard bytes[requestLength - 2] == UInt8(ascii: "\r"), bytes[requestLength - 1] == UInt8(ascii: "\n") else {
            return .request(.error(MemcacheRequestError(.badDataChunk, noreply: noreply)), length: requestLength)
        }
        let request = MemcacheStorageRequest(
            command: command,
            key: context.slice(key),
            flags: flags,
            exptime: Int64(exptime),
            data: context.slice(context.lineLength..<(context.lineLength + dataLength)),
            casUnique: casUnique,
            noreply: noreply
        )
        return .request(.storage(request), length: requestLength)
    }

    /// One tokenized command line and where it sits in the buffer.
    private struct LineContext {
        let line: UnsafeRawBufferPointer
        let tokens: CommandLineTokens
        /// The line with its `\n`.
        let lineLength: Int
        let buffer: ByteBuffer
        /// Whether keys may hold control characters.
        let controlCharacters: Bool

        /// Whether the last token is `noreply` (memcached's `set_noreply_maybe`).
        var endsWithNoreply: Bool {
            guard let last = self.tokens.last else { return false }
            return self.line.token(last, is: "noreply")
        }

        /// The bytes at `range` (offsets from the reader index) as a slice of the input.
        func slice(_ range: Range<Int>) -> ByteBuffer {
            self.buffer.getSlice(at: self.buffer.readerIndex + range.lowerBound, length: range.count)!
        }

        func request(_ request: MemcacheRequest) -> Step {
            .request(request, length: self.lineLength)
        }

        func error(_ reason: MemcacheRequestError.Reason, noreply: Bool = false) -> Step {
            .request(.error(MemcacheRequestError(reason, noreply: noreply)), length: self.lineLength)
        }

        var unknownCommand: Step {
            self.error(.unknownCommand)
        }

        /// memcached closes the connection when an unknown command's last token (among the first
        /// 23 it tokenizes) starts with `HTTP/`, and answers `ERROR` otherwise.
        var unknownOrHTTP: Step {
            var lastToken: Range<Int>? = nil
            var index = 0
            var tokensSeen = 0
            while index < self.line.count, tokensSeen < 23 {
                while index < self.line.count, self.line[index] == UInt8(ascii: " ") {
                    index += 1
                }
                guard index < self.line.count else { break }
                let start = index
                while index < self.line.count, self.line[index] != UInt8(ascii: " ") {
                    index += 1
                }
                lastToken = start..<index
                tokensSeen += 1
            }
            if let lastToken, self.line.token(lastToken).starts(with: "HTTP/".utf8) {
                return .close(.httpRequest)
            }
            return self.unknownCommand
        }

        /// `get`/`gets`/`gat`/`gats` (memcached's `process_get_command`): every key is checked before
        /// anything is looked up, since memcached discards the partial reply of a get with a bad key.
        func retrieval(_ command: MemcacheRetrievalCommand) -> Step {
            guard self.tokens.count >= 2 else { return self.unknownCommand }
            var keysStart = self.tokens[0].upperBound
            var exptime: Int64? = nil
            if command.touches {
                guard let value = MemcacheNumber.signed32(self.line.token(self.tokens[1])) else {
                    return self.error(.invalidExptime)
                }
                exptime = Int64(value)
                keysStart = self.tokens[1].upperBound
            }
            let keys = keysStart..<self.line.count
            guard MemcacheKeyRules.areValidKeys(self.line.token(keys), controlCharacters: self.controlCharacters) else {
                return self.error(.badCommandLineFormat)
            }
            let request = MemcacheRetrievalRequest(
                command: command,
                exptime: exptime,
                keys: MemcacheTokens(self.slice(keys))
            )
            return self.request(.retrieval(request))
        }

        /// `delete <key> [0] [noreply]` (memcached's `process_delete_command`).
        var delete: Step {
            let count = self.tokens.count
            guard count >= 2, count <= 4 else { return self.unknownCommand }
            var noreply = false
            if count > 2 {
                let holdIsZero = self.line.token(self.tokens[2], is: "0")
                noreply = self.endsWithNoreply
                let valid = (count == 3 && (holdIsZero || noreply)) || (count == 4 && holdIsZero && noreply)
                guard valid else { return self.error(.badDeleteCommandLine, noreply: noreply) }
            }
            let key = self.tokens[1]
            guard MemcacheKeyRules.isValid(self.line.token(key), controlCharacters: self.controlCharacters) else {
                return self.error(.badCommandLineFormat, noreply: noreply)
            }
            return self.request(.delete(key: self.slice(key), noreply: noreply))
        }

        /// `incr`/`decr <key> <delta> [noreply]` (memcached's `process_arithmetic_command`).
        func arithmetic(increment: Bool) -> Step {
            guard self.tokens.count == 3 || self.tokens.count == 4 else { return self.unknownCommand }
            let noreply = self.endsWithNoreply
            let key = self.tokens[1]
            guard MemcacheKeyRules.isValid(self.line.token(key), controlCharacters: self.controlCharacters) else {
                return self.error(.badCommandLineFormat, noreply: noreply)
            }
            guard let delta = MemcacheNumber.unsigned64(self.line.token(self.tokens[2])) else {
                return self.error(.invalidNumericDelta, noreply: noreply)
            }
            let keySlice = self.slice(key)
            return self.request(
                increment
                    ? .increment(key: keySlice, delta: delta, noreply: noreply)
                    : .decrement(key: keySlice, delta: delta, noreply: noreply)
            )
        }

        /// `touch <key> <exptime> [noreply]` (memcached's `process_touch_command`).
        var touch: Step {
            guard self.tokens.count == 3 || self.tokens.count == 4 else { return self.unknownCommand }
            let noreply = self.endsWithNoreply
            let key = self.tokens[1]
            guard MemcacheKeyRules.isValid(self.line.token(key), controlCharacters: self.controlCharacters) else {
                return self.error(.badCommandLineFormat, noreply: noreply)
            }
            guard let exptime = MemcacheNumber.signed32(self.line.token(self.tokens[2])) else {
                return self.error(.invalidExptime, noreply: noreply)
            }
            return self.request(.touch(key: self.slice(key), exptime: Int64(exptime), noreply: noreply))
        }

        /// `flush_all [delay] [noreply]` (memcached's `process_flush_all_command`): a second token
        /// is read as the delay unless it is the only one and is `noreply`.
        var flushAll: Step {
            let count = self.tokens.count
            guard count >= 1, count <= 3 else { return self.unknownCommand }
            let noreply = count > 1 && self.endsWithNoreply
            var delay: Int64? = nil
            if count != (noreply ? 2 : 1) {
                guard let value = MemcacheNumber.signed32(self.line.token(self.tokens[1])) else {
                    return self.error(.invalidExptime, noreply: noreply)
                }
                delay = Int64(value)
            }
            return self.request(.flushAll(delay: delay, noreply: noreply))
        }

        /// `verbosity <level> [noreply]` (memcached's `process_verbosity_command`).
        var verbosity: Step {
            guard self.tokens.count == 2 || self.tokens.count == 3 else { return self.unknownCommand }
            let noreply = self.endsWithNoreply
            guard let level = MemcacheNumber.unsigned32(self.line.token(self.tokens[1])) else {
                return self.error(.badCommandLineFormat, noreply: noreply)
            }
            return self.request(.verbosity(level: level, noreply: noreply))
        }

        /// `stats [arguments]`: the arguments are the server's to interpret.
        var stats: Step {
            let arguments = self.tokens[0].upperBound..<self.line.count
            return self.request(.stats(arguments: MemcacheTokens(self.slice(arguments))))
        }
    }
}
