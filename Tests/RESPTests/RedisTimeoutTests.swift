import NIOCore
import RESP
import Testing

/// Expected values are what redis-server 7.0.15 answers (on x86-64, where its `long double` is
/// the 80-bit format Swift calls `Float80`).
@Suite struct RedisTimeoutTests {
    private func read(_ text: String) -> RedisTimeout {
        RedisTimeout(ByteBuffer(string: text))
    }

    @Test func secondsWithFractionsRoundUpToWholeMilliseconds() {
        #expect(self.read("1") == .milliseconds(1000))
        #expect(self.read("0.25") == .milliseconds(250))
        #expect(self.read("1.0011") == .milliseconds(1002))
        #expect(self.read("1e10") == .milliseconds(10_000_000_000_000))
        for (text, milliseconds) in [("+1", 1000), (".5", 500), ("5.", 5000), ("0x10", 16000)] as [(String, Int64)] {
            #expect(self.read(text) == .milliseconds(milliseconds), "\(text)")
        }
        // Bytes after a NUL are not read, as C reads the argument.
        #expect(RedisTimeout(ByteBuffer(bytes: Array("1\u{0}9".utf8))) == .milliseconds(1000))
    }

    @Test func underAMillisecondWaitsOne() {
        for text in ["0.001", "0.0009", "0.0005", "1e-5", "0x1p-20", "4.9e-324"] {
            #expect(self.read(text) == .milliseconds(1), "\(text)")
        }
        #if arch(x86_64)
        // Below a double's range, within a long double's.
        #expect(self.read("1e-400") == .milliseconds(1))
        #expect(self.read("1e-4940") == .milliseconds(1))
        #endif
    }

    @Test func zeroAndTinyNegativesWaitForEver() {
        #expect(self.read("0") == .forever)
        #expect(self.read("-0") == .forever)
        // Rounding up takes a negative under a millisecond to 0, as in Redis.
        #expect(self.read("-0.0005") == .forever)
        #expect(self.read("-0.0001") == .forever)
    }

    @Test func negativeAndValuesTooLargeForMillisecondsAreNegative() {
        #expect(self.read("-1") == .negative)
        #expect(self.read("inf") == .negative)
        #expect(self.read("infinity") == .negative)
        #expect(self.read("-inf") == .negative)
        #expect(self.read("1e400") == .negative)
        #expect(self.read("1e308") == .negative)
        // The first whole second count whose milliseconds pass Int64.max.
        #expect(self.read("9223372036854776") == .negative)
        #expect(self.read("9223372036854775807") == .negative)
        #expect(self.read("99999999999999999999999") == .negative)
        #if arch(x86_64)
        // The last one that fits, exact in a long double (a double rounds it to 2^63).
        #expect(self.read("9223372036854775") == .milliseconds(9_223_372_036_854_775_000))
        #endif
    }

    @Test func notFloatsAndValuesBeyondALongDoubleAreRefused() {
        for text in ["", "abc", "nan", "1 ", " 1", "\t1", "1s", "--1", "1e", "1e5000", "-1e5000", "1e-5000", "-1e-5000"] {
            #expect(self.read(text) == .notANumber, "\(text)")
        }
        #expect(self.read("1" + String(repeating: "0", count: 5119)) == .notANumber)
        #expect(self.read("0.25" + String(repeating: "0", count: 5115)) == .milliseconds(250))
    }
}
