import ASCIIBytes
import Testing

@Suite struct RawDecimalWriteTests {
    @Test(arguments: [UInt64(0), 7, 10, 99, 1000, 4_294_967_295, .max])
    func writesDigitsAtTheStart(value: UInt64) {
        var bytes = [UInt8](repeating: UInt8(ascii: "#"), count: 24)
        let written = bytes.withUnsafeMutableBytes { ASCIIDecimal.write(value, into: $0) }
        #expect(written == String(value).utf8.count)
        #expect(String(decoding: bytes.prefix(written), as: UTF8.self) == String(value))
        #expect(bytes[written] == UInt8(ascii: "#"), "nothing is written past the digits")
    }
}
