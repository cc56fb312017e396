import MemcacheText
import NIOCore
import Testing

/// The reply writers, byte for byte.
@Suite struct MemcacheReplyTests {
    private func written(_ write: (inout ByteBuffer) -> Int) -> String {
        var buffer = ByteBuffer()
        let count = write(&buffer)
        #expect(count == buffer.readableBytes, "the returned count must be the bytes written")
        return String(buffer: buffer)
    }

    @Test func constantReplies() {
        let expected: [(MemcacheReply, String)] = [
            (.stored, "STORED\r\n"), (.notStored, "NOT_STORED\r\n"), (.exists, "EXISTS\r\n"),
            (.notFound, "NOT_FOUND\r\n"), (.deleted, "DELETED\r\n"), (.touched, "TOUCHED\r\n"),
            (.ok, "OK\r\n"), (.end, "END\r\n"), (.error, "ERROR\r\n"), (.reset, "RESET\r\n"),
            (.objectTooLarge, "SERVER_ERROR object too large for cache\r\n"),
            (.outOfMemoryStoringObject, "SERVER_ERROR out of memory storing object\r\n"),
            (.outOfMemory, "SERVER_ERROR out of memory\r\n"),
            (.nonNumericValue, "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n"),
            (.tooManyConnections, "SERVER_ERROR Too many open connections\r\n"),
            (.authenticationFailure, "CLIENT_ERROR authentication failure\r\n"),
        ]
        for (reply, text) in expected {
            #expect(self.written { $0.writeMemcacheReply(reply) } == text)
        }
    }

    @Test func valueBlocks() {
        let key = ByteBuffer(string: "q/open")
        let data = ByteBuffer(string: "a\r\nb")
        #expect(self.written { $0.writeMemcacheValue(key: key, flags: 0, data: data) } == "VALUE q/open 0 4\r\na\r\nb\r\n")
        #expect(
            self.written { $0.writeMemcacheValue(key: key, flags: .max, data: ByteBuffer(), cas: .max) }
                == "VALUE q/open 4294967295 0 18446744073709551615\r\n\r\n"
        )
        let bytes: [UInt8] = Array("xyz".utf8)
        #expect(self.written { $0.writeMemcacheValue(key: Array("k".utf8), flags: 12, data: bytes, cas: 5) } == "VALUE k 12 3 5\r\nxyz\r\n")
        #expect(self.written { $0.writeMemcacheValueHeader(key: key, flags: 1, byteCount: 1000) } == "VALUE q/open 1 1000\r\n")
    }

    @Test func numbersVersionAndStats() {
        #expect(self.written { $0.writeMemcacheNumber(0) } == "0\r\n")
        #expect(self.written { $0.writeMemcacheNumber(.max) } == "18446744073709551615\r\n")
        #expect(self.written { $0.writeMemcacheVersion("1.6.18") } == "VERSION 1.6.18\r\n")
        #expect(self.written { $0.writeMemcacheStat("curr_items", UInt64(12)) } == "STAT curr_items 12\r\n")
        #expect(self.written { $0.writeMemcacheStat("delta", -3) } == "STAT delta -3\r\n")
        #expect(self.written { $0.writeMemcacheStat("evictions", "on" as StaticString) } == "STAT evictions on\r\n")
        #expect(self.written { $0.writeMemcacheStat(named: "rusage_user", value: "0.138404") } == "STAT rusage_user 0.138404\r\n")
        #expect(
            self.written { $0.writeMemcacheQueueStat(queue: ByteBuffer(string: "jobs"), added: 10, removed: 7) }
                == "STAT jobs 10/7\r\n"
        )
        #expect(self.written { $0.writeMemcacheServerError("disk full") } == "SERVER_ERROR disk full\r\n")
        #expect(self.written { $0.writeMemcacheClientError("nope") } == "CLIENT_ERROR nope\r\n")
    }

    @Test func errorRepliesHonourNoreply() {
        let expected: [(MemcacheRequestError.Reason, String, Bool)] = [
            (.unknownCommand, "ERROR\r\n", false),
            (.badCommandLineFormat, "CLIENT_ERROR bad command line format\r\n", false),
            (.badDeleteCommandLine, "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n", false),
            (.invalidExptime, "CLIENT_ERROR invalid exptime argument\r\n", false),
            (.invalidNumericDelta, "CLIENT_ERROR invalid numeric delta argument\r\n", false),
            (.badDataChunk, "CLIENT_ERROR bad data chunk\r\n", false),
            (.objectTooLarge, "SERVER_ERROR object too large for cache\r\n", false),
            (.unauthenticated, "CLIENT_ERROR unauthenticated\r\n", false),
            (.badCommandLineTermination, "CLIENT_ERROR bad command line termination\r\n", false),
            (.badAuthenticationTokenFormat, "CLIENT_ERROR bad authentication token format\r\n", false),
            (.lineTooLong, "", true),
            (.httpRequest, "", true),
        ]
        for (reason, text, closes) in expected {
            let error = MemcacheRequestError(reason)
            #expect(self.written { $0.writeMemcacheError(error) } == text)
            #expect(self.written { $0.writeMemcacheError(MemcacheRequestError(reason, noreply: true)) } == "")
            #expect(error.closesConnection == closes)
        }
    }
}
