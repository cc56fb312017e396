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

extension CommandName {
    /// The packed name stirred by two multiplications: its top bits pick a ``CommandNameTable`` slot.
    fileprivate var spread: UInt64 {
        ((self.low &* 0x9E37_79B9_7F4A_7C15) ^ self.high) &* 0xC2B2_AE3D_27D4_EB4F
    }
}

/// A fixed table from command names to values, filled once.
///
/// Every request looks its command up, and a `Dictionary` would run SipHash over the name each
/// time for a set of keys that never changes; here a lookup is two multiplications and a probe
/// of a table at most a quarter full.
struct CommandNameTable<Value: Sendable>: Sendable {
    private var slots: [(name: CommandName, value: Value)?]
    private let shift: UInt64

    init(_ entries: [(CommandName, Value)]) {
        var bits: UInt64 = 3
        while 1 << bits < entries.count * 4 {
            bits += 1
        }
        self.shift = 64 - bits
        self.slots = Array(repeating: nil, count: 1 << bits)
        for (name, value) in entries {
            var slot = self.firstSlot(for: name)
            while let taken = self.slots[slot] {
                precondition(taken.name != name, "a command name appears twice")
                slot = (slot + 1) & (self.slots.count - 1)
            }
            self.slots[slot] = (name, value)
        }
    }

    subscript(name: CommandName) -> Value? {
        var slot = self.firstSlot(for: name)
        while let entry = self.slots[slot] {
            if entry.name == name {
                return entry.value
            }
            slot = (slot + 1) & (self.slots.count - 1)
        }
        return nil
    }

    @inline(__always)
    private func firstSlot(for name: CommandName) -> Int {
        Int(truncatingIfNeeded: name.spread >> self.shift)
    }
}
