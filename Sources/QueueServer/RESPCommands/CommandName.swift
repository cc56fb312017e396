import NIOCore

/// A command or subcommand name, matched case-insensitively on bytes: up to 16 ASCII letters,
/// upper-cased and packed into two integers, so a lookup builds no String.
struct CommandName: Hashable, Sendable {
    private var low: UInt64 = 0
    private var high: UInt64 = 0

    /// nil for names longer than any command.
    init?(_ bytes: ByteBuffer) {
        guard bytes.readableBytes <= 16 else { return nil }
        var packed = (low: UInt64(0), high: UInt64(0))
        bytes.withUnsafeReadableBytes { bytes in
            for (index, byte) in bytes.enumerated() {
                let upper = byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") ? byte - 32 : byte
                if index < 8 {
                    packed.low |= UInt64(upper) << (8 * UInt64(index))
                } else {
                    packed.high |= UInt64(upper) << (8 * UInt64(index - 8))
                }
            }
        }
        self.low = packed.low
        self.high = packed.high
    }

    init(_ name: String) {
        self.init(ByteBuffer(string: name))!
    }
}
