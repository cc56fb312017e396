/// SipHash-2-4 of a message under a secret key kept with the data: the index's key for
/// uniqueness, SISMEMBER and SREM. Stable across restarts (unlike Swift's `Hasher`), and keyed so
/// that clients cannot craft messages that all collide. Equal digests are still compared byte by
/// byte, so a collision costs a lookup, never a wrong answer.
struct MessageDigest: Sendable {
    private let key0: UInt64
    private let key1: UInt64

    init(key0: UInt64, key1: UInt64) {
        self.key0 = key0
        self.key1 = key1
    }

    func digest(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var v0: UInt64 = 0x736f_6d65_7073_6575 ^ self.key0
        var v1: UInt64 = 0x646f_7261_6e64_6f6d ^ self.key1
        var v2: UInt64 = 0x6c79_6765_6e65_7261 ^ self.key0
        var v3: UInt64 = 0x7465_6462_7974_6573 ^ self.key1

        @inline(__always)
        func round() {
            v0 = v0 &+ v1
            v1 = (v1 << 13) | (v1 >> 51)
            v1 ^= v0
            v0 = (v0 << 32) | (v0 >> 32)
            v2 = v2 &+ v3
            v3 = (v3 << 16) | (v3 >> 48)
            v3 ^= v2
            v0 = v0 &+ v3
            v3 = (v3 << 21) | (v3 >> 43)
            v3 ^= v0
            v2 = v2 &+ v1
            v1 = (v1 << 17) | (v1 >> 47)
            v1 ^= v2
            v2 = (v2 << 32) | (v2 >> 32)
        }

        let count = bytes.count
        let whole = count & ~7
        var offset = 0
        while offset < whole {
            let word = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            v3 ^= word
            round()
            round()
            v0 ^= word
            offset += 8
        }
        var last = UInt64(truncatingIfNeeded: count) << 56
        for index in whole..<count {
            last |= UInt64(bytes[index]) << (8 * UInt64(index - whole))
        }
        v3 ^= last
        round()
        round()
        v0 ^= last
        v2 ^= 0xff
        round()
        round()
        round()
        round()
        return v0 ^ v1 ^ v2 ^ v3
    }
}
