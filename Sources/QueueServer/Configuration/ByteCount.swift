import ArgumentParser

/// A size in bytes given on the command line: `1048576`, `512kb`, `64mb`, `2gb` (as Redis
/// configuration reads them; `k`/`m`/`g` mean the same as `kb`/`mb`/`gb`, powers of 1024).
public struct ByteCount: Sendable, Hashable, ExpressibleByArgument, CustomStringConvertible {
    public var bytes: Int

    public init(_ bytes: Int) {
        self.bytes = bytes
    }

    public init?(argument: String) {
        let text = argument.lowercased()
        let digits = text.prefix { $0.isNumber }
        let unit = text.dropFirst(digits.count)
        let multipliers: [Substring: Int] = ["": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "m": 1 << 20, "mb": 1 << 20, "g": 1 << 30, "gb": 1 << 30]
        guard let value = Int(digits), let multiplier = multipliers[unit] else { return nil }
        let (bytes, overflow) = value.multipliedReportingOverflow(by: multiplier)
        guard !overflow else { return nil }
        self.bytes = bytes
    }

    public var description: String {
        for (unit, size) in [("gb", 1 << 30), ("mb", 1 << 20), ("kb", 1 << 10)] where self.bytes >= size && self.bytes % size == 0 {
            return "\(self.bytes / size)\(unit)"
        }
        return String(self.bytes)
    }
}
