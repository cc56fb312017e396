import NIOCore
import RESP
import Testing

private func written(_ write: (inout ByteBuffer) -> Void) -> String {
    var buffer = ByteBuffer()
    write(&buffer)
    return String(buffer: buffer)
}

@Suite struct RESPReplyTests {
    @Test func scalars() {
        #expect(written { $0.writeRESPInteger(-42) } == ":-42\r\n")
        #expect(written { $0.writeRESPBulk(ByteBuffer(string: "a\r\nb")) } == "$4\r\na\r\nb\r\n")
        #expect(written { $0.writeRESPBulk(decimal: -1234) } == "$5\r\n-1234\r\n")
        #expect(written { $0.writeRESPBulk(decimal: 0) } == "$1\r\n0\r\n")
        #expect(written { $0.writeRESPSimpleString("OK") } == "+OK\r\n")
    }

    @Test func errorsCarryTheirCodeAndNeverBreakTheLine() {
        #expect(written { $0.writeRESPError("unknown command 'x'") } == "-ERR unknown command 'x'\r\n")
        #expect(written { $0.writeRESPError(code: "WRONGPASS", "invalid password") } == "-WRONGPASS invalid password\r\n")
        #expect(written { $0.writeRESPError("a\r\nb") } == "-ERR a  b\r\n")
    }

    @Test func nullsAndAggregatesFollowTheProtocolVersion() {
        #expect(written { $0.writeRESPNull(.v2) } == "$-1\r\n")
        #expect(written { $0.writeRESPNull(.v3) } == "_\r\n")
        #expect(written { $0.writeRESPNullArray(.v2) } == "*-1\r\n")
        #expect(written { $0.writeRESPNullArray(.v3) } == "_\r\n")
        #expect(written { $0.writeRESPSetHeader(2, .v2) } == "*2\r\n")
        #expect(written { $0.writeRESPSetHeader(2, .v3) } == "~2\r\n")
        #expect(written { $0.writeRESPMapHeader(3, .v2) } == "*6\r\n")
        #expect(written { $0.writeRESPMapHeader(3, .v3) } == "%3\r\n")
        #expect(written { $0.writeRESPVerbatimText("a:1", .v2) } == "$3\r\na:1\r\n")
        #expect(written { $0.writeRESPVerbatimText("a:1", .v3) } == "=7\r\ntxt:a:1\r\n")
    }
}
