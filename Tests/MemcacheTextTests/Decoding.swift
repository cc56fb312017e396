import MemcacheText
import NIOCore

/// Helpers shared by the decoder tests.
enum Decoding {
    /// Every request `input` decodes to when it arrives in one piece.
    static func requests(
        _ input: ByteBuffer,
        limits: MemcacheRequestDecoder.Limits = .init()
    ) throws -> [MemcacheRequest] {
        let processor = NIOSingleStepByteToMessageProcessor(MemcacheRequestDecoder(limits: limits))
        var requests: [MemcacheRequest] = []
        try processor.process(buffer: input) { requests.append($0) }
        return requests
    }

    static func requests(_ input: String, limits: MemcacheRequestDecoder.Limits = .init()) throws -> [MemcacheRequest] {
        try self.requests(ByteBuffer(string: input), limits: limits)
    }

    /// The single request `input` decodes to, or `nil` if it decodes to no request or several.
    static func request(_ input: String, limits: MemcacheRequestDecoder.Limits = .init()) throws -> MemcacheRequest? {
        let requests = try self.requests(input, limits: limits)
        return requests.count == 1 ? requests[0] : nil
    }

    static func keys(_ words: String) -> MemcacheTokens {
        MemcacheTokens(ByteBuffer(string: words))
    }

    static func error(_ reason: MemcacheRequestError.Reason, noreply: Bool = false) -> MemcacheRequest {
        .error(MemcacheRequestError(reason, noreply: noreply))
    }

    /// `object too large` for a refused storage command, which names the command and key.
    static func tooLarge(_ command: MemcacheStorageCommand, _ key: String, noreply: Bool = false) -> MemcacheRequest {
        var error = MemcacheRequestError(.objectTooLarge, noreply: noreply)
        error.rejectedStorage = (command, ByteBuffer(string: key))
        return .error(error)
    }

    static func storage(
        _ command: MemcacheStorageCommand,
        _ key: String,
        flags: UInt32 = 0,
        exptime: Int64 = 0,
        _ data: String,
        cas: UInt64 = 0,
        noreply: Bool = false
    ) -> MemcacheRequest {
        .storage(
            MemcacheStorageRequest(
                command: command,
                key: ByteBuffer(string: key),
                flags: flags,
                exptime: exptime,
                data: ByteBuffer(string: data),
                casUnique: cas,
                noreply: noreply
            )
        )
    }
}
