import NIOCore
import RESP
import Testing

@Suite struct RedisTimeoutTests {
    private func read(_ text: String) -> RedisTimeout {
        RedisTimeout(ByteBuffer(string: text))
    }

    @Test func secondsWithFractionsBecomeWholeMilliseconds() {
        #expect(self.read("1") == .milliseconds(1000))
        #expect(self.read("0.25") == .milliseconds(250))
        #expect(self.read("1.0019") == .milliseconds(1001))
        #expect(self.read("1e10") == .milliseconds(10_000_000_000_000))
        for (text, milliseconds) in [("+1", 1000), (".5", 500), ("5.", 5000), ("0x10", 16000)] as [(String, Int64)] {
            #expect(self.read(text) == .milliseconds(milliseconds), "\(text)")
        }
    }

    @Test func zeroAndUnderAMillisecondWaitForEver() {
        #expect(self.read("0") == .forever)
        #expect(self.read("0.0005") == .forever)
        #expect(self.read("1e-400") == .forever)
        #expect(self.read("-0") == .forever)
        // Truncation toward zero: a tiny negative is 0 milliseconds, as in Redis.
        #expect(self.read("-0.0005") == .forever)
    }

    @Test func negativeAndValuesTooLargeForMillisecondsAreNegative() {
        #expect(self.read("-1") == .negative)
        #expect(self.read("inf") == .negative)
        #expect(self.read("-inf") == .negative)
        #expect(self.read("1e400") == .negative)
        #expect(self.read("1e308") == .negative)
        // The first whole second count whose milliseconds pass Int64.max, as redis-server 7.0 answers.
        #expect(self.read("9223372036854776") == .negative)
        #expect(self.read("9223372036854775807") == .negative)
        #expect(self.read("99999999999999999999999") == .negative)
    }

    @Test func notFloatsAreRefused() {
        for text in ["", "abc", "nan", "1 ", " 1", "1s", "--1"] {
            #expect(self.read(text) == .notANumber, "\(text)")
        }
    }
}
