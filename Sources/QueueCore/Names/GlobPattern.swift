import NIOCore

/// A Redis glob pattern for KEYS and SCAN MATCH: `*`, `?`, `[abc]`, `[^a-z]` and `\` escapes,
/// matched exactly as Redis's `stringmatchlen` matches them.
public struct GlobPattern: Sendable {
    private let pattern: [UInt8]

    public init(_ pattern: ByteBuffer) {
        self.pattern = Array(pattern.readableBytesView)
    }

    /// True for the pattern `*`, which KEYS and SCAN treat as "every name" (even the empty one,
    /// which `stringmatchlen` alone would not match).
    public var matchesEverything: Bool { self.pattern == [UInt8(ascii: "*")] }

    public func matches(_ name: ByteBuffer) -> Bool {
        if self.matchesEverything {
            return true
        }
        return self.pattern.withUnsafeBytes { pattern in
            name.withUnsafeReadableBytes { string in
                var skipLongerMatches = false
                return Self.match(pattern[...], string[...], &skipLongerMatches, nesting: 0)
            }
        }
    }

    private typealias Bytes = Slice<UnsafeRawBufferPointer>

    /// Each `*` that must match something recurses once more: past `maximumNesting` the pattern
    /// fails to match, as in Redis 7 (which guards its stack so; a name of 200,000 bytes and a
    /// pattern of 100,000 `*a` would otherwise overflow ours).
    private static var maximumNesting: Int { 1000 }

    private static func match(_ patternIn: Bytes, _ stringIn: Bytes, _ skipLongerMatches: inout Bool, nesting: Int) -> Bool {
        guard nesting <= Self.maximumNesting else { return false }
        var pattern = patternIn
        var string = stringIn
        while let p = pattern.first, let s = string.first {
            switch p {
            case UInt8(ascii: "*"):
                while pattern.count >= 2 && pattern[pattern.startIndex + 1] == UInt8(ascii: "*") {
                    pattern = pattern.dropFirst()
                }
                if pattern.count == 1 {
                    return true
                }
                while !string.isEmpty {
                    if match(pattern.dropFirst(), string, &skipLongerMatches, nesting: nesting + 1) {
                        return true
                    }
                    if skipLongerMatches {
                        return false
                    }
                    string = string.dropFirst()
                }
                // No match for the rest anywhere in the string: longer matches of earlier `*`s
                // cannot help either (Redis's guard against exponential patterns).
                skipLongerMatches = true
                return false
            case UInt8(ascii: "?"):
                string = string.dropFirst()
            case UInt8(ascii: "["):
                pattern = pattern.dropFirst()
                let negated = pattern.first == UInt8(ascii: "^")
                if negated {
                    pattern = pattern.dropFirst()
                }
                var matched = false
                while true {
                    guard let c = pattern.first else {
                        // Unterminated class: step back so the outer step consumes nothing more.
                        pattern = patternIn[(pattern.startIndex - 1)...]
                        break
                    }
                    if c == UInt8(ascii: "\\") && pattern.count >= 2 {
                        pattern = pattern.dropFirst()
                        if pattern.first == s {
                            matched = true
                        }
                    } else if c == UInt8(ascii: "]") {
                        break
                    } else if pattern.count >= 3 && pattern[pattern.startIndex + 1] == UInt8(ascii: "-") {
                        let low = min(c, pattern[pattern.startIndex + 2])
                        let high = max(c, pattern[pattern.startIndex + 2])
                        pattern = pattern.dropFirst(2)
                        if s >= low && s <= high {
                            matched = true
                        }
                    } else if c == s {
                        matched = true
                    }
                    pattern = pattern.dropFirst()
                }
                if negated {
                    matched.toggle()
                }
                guard matched else { return false }
                string = string.dropFirst()
            default:
                if p == UInt8(ascii: "\\") && pattern.count >= 2 {
                    pattern = pattern.dropFirst()
                }
                guard pattern.first == s else { return false }
                string = string.dropFirst()
            }
            pattern = pattern.dropFirst()
            if string.isEmpty {
                while pattern.first == UInt8(ascii: "*") {
                    pattern = pattern.dropFirst()
                }
                break
            }
        }
        return pattern.isEmpty && string.isEmpty
    }
}
