/// Splits an inline command line into arguments exactly as Redis's `sdssplitargs` does:
/// blanks separate arguments; `"..."` understands `\xHH`, `\n`, `\r`, `\t`, `\b`, `\a` and `\<c>`;
/// `'...'` understands `\'`; a closing quote must be followed by a blank or the end of the line.
enum InlineCommandSplitter {
    static func split(_ line: UnsafeRawBufferPointer) throws(RESPProtocolError) -> [[UInt8]] {
        var arguments: [[UInt8]] = []
        var index = 0
        // A NUL ends the line, as it ends Redis's C string.
        let end = line.firstIndex(of: 0) ?? line.count

        func byte(at position: Int) -> UInt8 {
            position < end ? line[position] : 0
        }

        while true {
            while index < end && isBlank(line[index]) {
                index += 1
            }
            guard index < end else { return arguments }

            var current: [UInt8] = []
            var inDoubleQuotes = false
            var inSingleQuotes = false
            var done = false
            while !done {
                let character = byte(at: index)
                if inDoubleQuotes {
                    if character == UInt8(ascii: "\\"), byte(at: index + 1) == UInt8(ascii: "x"),
                        let high = hexValue(byte(at: index + 2)), let low = hexValue(byte(at: index + 3))
                    {
                        current.append(high << 4 | low)
                        index += 3
                    } else if character == UInt8(ascii: "\\"), byte(at: index + 1) != 0 {
                        index += 1
                        current.append(unescaped(line[index]))
                    } else if character == UInt8(ascii: "\"") {
                        if byte(at: index + 1) != 0 && !isBlank(byte(at: index + 1)) {
                            throw .unbalancedQuotes
                        }
                        done = true
                    } else if character == 0 {
                        throw .unbalancedQuotes
                    } else {
                        current.append(character)
                    }
                } else if inSingleQuotes {
                    if character == UInt8(ascii: "\\"), byte(at: index + 1) == UInt8(ascii: "'") {
                        index += 1
                        current.append(UInt8(ascii: "'"))
                    } else if character == UInt8(ascii: "'") {
                        if byte(at: index + 1) != 0 && !isBlank(byte(at: index + 1)) {
                            throw .unbalancedQuotes
                        }
                        done = true
                    } else if character == 0 {
                        throw .unbalancedQuotes
                    } else {
                        current.append(character)
                    }
                } else {
                    switch character {
                    case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"), 0:
                        done = true
                    case UInt8(ascii: "\""):
                        inDoubleQuotes = true
                    case UInt8(ascii: "'"):
                        inSingleQuotes = true
                    default:
                        current.append(character)
                    }
                }
                if index < end {
                    index += 1
                }
            }
            arguments.append(current)
        }
    }

    /// C's `isspace`.
    private static func isBlank(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || (byte >= 9 && byte <= 13)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private static func unescaped(_ byte: UInt8) -> UInt8 {
        switch byte {
        case UInt8(ascii: "n"): UInt8(ascii: "\n")
        case UInt8(ascii: "r"): UInt8(ascii: "\r")
        case UInt8(ascii: "t"): UInt8(ascii: "\t")
        case UInt8(ascii: "b"): 8
        case UInt8(ascii: "a"): 7
        default: byte
        }
    }
}
