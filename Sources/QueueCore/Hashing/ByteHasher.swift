/// A seeded 64-bit hash of bytes, for the in-memory tables keyed by content: cache keys and
/// queue messages. The key/value cache takes its high half for the shard and its low half for the
/// bucket inside the shard, so the two never correlate.
///
/// Eight bytes per step with a multiply-rotate mix, then murmur3's 64-bit finaliser: a few
/// nanoseconds for a short message, where SipHash (Swift's `Hasher`) spends tens. The seed is
/// random per table (or per process), so clients cannot precompute inputs that all land in one
/// chain.
struct ByteHasher: Sendable {
    let seed: UInt64

    @inline(__always)
    func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        let count = bytes.count
        var state = self.seed ^ (UInt64(truncatingIfNeeded: count) &* 0x9E37_79B9_7F4A_7C15)
        var offset = 0
        while offset + 8 <= count {
            state = Self.mix(state, bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            offset += 8
        }
        if offset < count {
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while offset < count {
                tail |= UInt64(bytes[offset]) << shift
                shift += 8
                offset += 1
            }
            state = Self.mix(state, tail)
        }
        state ^= state >> 33
        state &*= 0xFF51_AFD7_ED55_8CCD
        state ^= state >> 33
        state &*= 0xC4CE_B9FE_1A85_EC53
        state ^= state >> 33
        return state
    }

    @inline(__always)
    private static func mix(_ state: UInt64, _ word: UInt64) -> UInt64 {
        let mixed = state ^ (word &* 0xC2B2_AE3D_27D4_EB4F)
        return ((mixed << 31) | (mixed >> 33)) &* 0x9E37_79B9_7F4A_7C15
    }
}
