import NIOCore
import Testing

@testable import MemcacheText

/// memcached's `safe_strto*` readings, including the quirks the transcripts rely on.
@Suite struct MemcacheNumberTests {
    private func read<T>(_ text: String, _ reader: (UnsafeRawBufferPointer) -> T?) -> T? {
        ByteBuffer(string: text).withUnsafeReadableBytes { reader($0) }
    }

    @Test func unsigned64LikeStrtoull() {
        #expect(self.read("0", MemcacheNumber.unsigned64) == 0)
        #expect(self.read("007", MemcacheNumber.unsigned64) == 7)
        #expect(self.read("+5", MemcacheNumber.unsigned64) == 5)
        #expect(self.read("-0", MemcacheNumber.unsigned64) == 0)
        #expect(self.read("\t12", MemcacheNumber.unsigned64) == 12)
        #expect(self.read("12\r", MemcacheNumber.unsigned64) == 12)
        #expect(self.read("12\0junk", MemcacheNumber.unsigned64) == 12)
        #expect(self.read("12 junk", MemcacheNumber.unsigned64) == 12)
        #expect(self.read("18446744073709551615", MemcacheNumber.unsigned64) == .max)
        // Negative values that wrap to a positive 64-bit number pass, as in memcached.
        #expect(self.read("-9223372036854775809", MemcacheNumber.unsigned64) == UInt64(Int64.max))
        for rejected in ["", "-", "+", "x", "1x", "-1", "-9223372036854775808", "18446744073709551616", " "] {
            #expect(self.read(rejected, MemcacheNumber.unsigned64) == nil, "\(rejected.debugDescription)")
        }
    }

    @Test func unsigned32KeepsTheLow32Bits() {
        #expect(self.read("4294967295", MemcacheNumber.unsigned32) == .max)
        #expect(self.read("4294967296", MemcacheNumber.unsigned32) == 0)
        #expect(self.read("18446744073709551615", MemcacheNumber.unsigned32) == .max)
        #expect(self.read("-1", MemcacheNumber.unsigned32) == nil)
    }

    @Test func signed32LikeStrtolTruncated() {
        #expect(self.read("-1", MemcacheNumber.signed32) == -1)
        #expect(self.read("2147483647", MemcacheNumber.signed32) == .max)
        #expect(self.read("2147483648", MemcacheNumber.signed32) == .min)
        #expect(self.read("4294967297", MemcacheNumber.signed32) == 1)
        #expect(self.read("9223372036854775807", MemcacheNumber.signed32) == -1)
        #expect(self.read("-9223372036854775808", MemcacheNumber.signed32) == 0)
        for rejected in ["9223372036854775808", "-9223372036854775809", "", "--1", "1.5", "0x10"] {
            #expect(self.read(rejected, MemcacheNumber.signed32) == nil, "\(rejected.debugDescription)")
        }
    }
}
