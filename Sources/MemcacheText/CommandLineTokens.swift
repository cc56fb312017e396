/// The first few space-separated tokens of one command line, found without allocating.
///
/// memcached splits a line on spaces only (a tab is part of a token). No ordinary command takes more
/// than 7 tokens, so the positions of the first ``storedCapacity`` are kept; past that ``count``
/// stops at `storedCapacity + 1`, which is enough to answer "too many tokens". Retrieval keys and
/// stats arguments, which may be many, are handed on as a slice of the line instead.
struct CommandLineTokens {
    static let storedCapacity = 8

    /// Tokens found, at most `storedCapacity + 1` (which then means "more than `storedCapacity`").
    private(set) var count = 0
    private var starts = SIMD8<Int32>()
    private var ends = SIMD8<Int32>()

    /// Tokenizes `line` (the command line without its `\r\n`). Lines are bounded well below 2 GiB.
    @inline(__always)
    init(_ line: UnsafeRawBufferPointer) {
        let length = line.count
        var index = 0
        while index < length {
            while index < length, line[index] == UInt8(ascii: " ") {
                index += 1
            }
            if index == length {
                break
            }
            let start = index
            while index < length, line[index] != UInt8(ascii: " ") {
                index += 1
            }
            if self.count == Self.storedCapacity {
                self.count += 1
                break
            }
            self.starts[self.count] = Int32(truncatingIfNeeded: start)
            self.ends[self.count] = Int32(truncatingIfNeeded: index)
            self.count += 1
        }
    }

    /// The byte range of token `index` (`index < min(count, storedCapacity)`).
    @inline(__always)
    subscript(index: Int) -> Range<Int> {
        Int(self.starts[index])..<Int(self.ends[index])
    }

    /// The range of the last token, when there are at most `storedCapacity`.
    @inline(__always)
    var last: Range<Int>? {
        self.count == 0 || self.count > Self.storedCapacity ? nil : self[self.count - 1]
    }
}

extension UnsafeRawBufferPointer {
    /// The bytes of `range`, rebased.
    @inline(__always)
    func token(_ range: Range<Int>) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: self[range])
    }

    /// Whether the bytes of `range` are exactly `text` (memcached compares command names and
    /// `noreply` with `strcmp`: case-sensitive).
    @inline(__always)
    func token(_ range: Range<Int>, is text: StaticString) -> Bool {
        guard range.count == text.utf8CodeUnitCount else { return false }
        var offset = 0
        let expected = text.utf8Start
        while offset < range.count {
            if self[range.lowerBound + offset] != expected[offset] {
                return false
            }
            offset += 1
        }
        return true
    }
}
