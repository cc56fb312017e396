import MemcacheText
import NIOCore
import TestSupport
import Testing

/// Every recorded memcached exchange, replayed through the codec: same bytes out, same close —
/// whether the input arrives whole, byte by byte, or in random pieces.
@Suite struct TranscriptTests {
    @Test(arguments: Transcript.recorded)
    func wholeInputGivesMemcachedsBytes(transcript: Transcript) throws {
        let input = ByteBuffer(string: transcript.input)
        let (output, closed) = try Transcript.replay(input, chunkSizes: [input.readableBytes])
        #expect(String(buffer: output) == transcript.expectedOutput)
        #expect(closed == transcript.closes)
    }

    @Test(arguments: Transcript.recorded)
    func dripFedInputGivesMemcachedsBytes(transcript: Transcript) throws {
        let input = ByteBuffer(string: transcript.input)
        // One byte at a time; for the megabyte bodies, small pieces keep the test quick.
        let chunkSize = input.readableBytes > 65_536 ? 1_000 : 1
        let (output, closed) = try Transcript.replay(input, chunkSizes: [chunkSize])
        #expect(String(buffer: output) == transcript.expectedOutput)
        #expect(closed == transcript.closes)
    }

    @Test(arguments: Transcript.recorded)
    func randomlySplitInputGivesMemcachedsBytes(transcript: Transcript) throws {
        let input = ByteBuffer(string: transcript.input)
        var random = SplitMix64(seed: UInt64(truncatingIfNeeded: transcript.input.utf8.count))
        for _ in 0..<5 {
            let largest = max(2, min(input.readableBytes, 70_000))
            let sizes = (0..<64).map { _ in Int.random(in: 1...largest, using: &random) }
            let (output, closed) = try Transcript.replay(input, chunkSizes: sizes)
            #expect(String(buffer: output) == transcript.expectedOutput)
            #expect(closed == transcript.closes)
        }
    }

    @Test(arguments: Transcript.recordedWithAuthentication)
    func authenticationGivesMemcachedsBytes(transcript: Transcript) throws {
        let input = ByteBuffer(string: transcript.input)
        for chunkSizes in [[input.readableBytes], [1], [3, 7, 1, 64]] {
            let (output, closed) = try Transcript.replay(input, chunkSizes: chunkSizes, credentials: Transcript.credentials)
            #expect(String(buffer: output) == transcript.expectedOutput)
            #expect(closed == transcript.closes)
        }
    }
}
