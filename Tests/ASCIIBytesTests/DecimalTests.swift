import ASCIIBytes
import NIOCore
import Testing

@Suite struct DecimalTests {
    private func strict(_ text: String) -> Int64? {
        ByteBuffer(string: text).readableStrictInt64
    }

    @Test func strictIntegersFollowRedis() {
        #expect(strict("0") == 0)
        #expect(strict("42") == 42)
        #expect(strict("-42") == -42)
        #expect(strict("9223372036854775807") == .max)
        #expect(strict("-9223372036854775808") == .min)
        for rejected in ["", "-", "+1", "01", "-0", "00", " 1", "1 ", "1a", "9223372036854775808",
                         "-9223372036854775809", "123456789012345678901"] {
            #expect(strict(rejected) == nil, "\(rejected) should be rejected")
        }
    }

    @Test func unsignedDigitsAllowLeadingZerosAndRejectOverflow() {
        func digits(_ text: String) -> UInt64? {
            ByteBuffer(string: text).withUnsafeReadableBytes { ASCIIDecimal.unsignedDigits($0) }
        }
        #expect(digits("007") == 7)
        #expect(digits("18446744073709551615") == .max)
        #expect(digits("18446744073709551616") == nil)
        #expect(digits("-1") == nil)
        #expect(digits("") == nil)
    }

    @Test(arguments: [0, 1, 9, 10, 99, 100, 12345, 999_999, 1_000_000, Int.max, Int.min, -1, -10])
    func writtenDecimalsMatchDescription(value: Int) {
        var buffer = ByteBuffer()
        let written = buffer.writeDecimal(value)
        #expect(String(buffer: buffer) == String(value))
        #expect(written == String(value).utf8.count)
    }

    @Test func writesLargestUnsigned() {
        var buffer = ByteBuffer()
        buffer.writeDecimal(UInt64.max)
        #expect(String(buffer: buffer) == "18446744073709551615")
    }
}
