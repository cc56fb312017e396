#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The fixed part of a ``StoredItem``: what never changes while the item lives.
struct StoredItemHeader {
    let keyLength: UInt32
    let valueLength: UInt32
    let flags: UInt32
}

/// One cached item: its key and value bytes side by side in a single heap allocation
/// (object header, ``StoredItemHeader``, then `key ‖ value`), so a store costs exactly one `malloc`
/// and a hit costs only a retain.
///
/// The bytes never change once the item is linked into a shard, with one exception: `incr`/`decr`
/// rewrite the value in place, and only while the shard lock is held and the shard holds the
/// only reference (`isKnownUniquelyReferenced`), so no reader can ever see a change. That is why
/// the types holding it may be `@unchecked Sendable` (`ManagedBuffer` itself refuses `Sendable`).
final class StoredItem: ManagedBuffer<StoredItemHeader, UInt8> {
    /// Allocates an item and lets `initialize` write all `keyLength + valueLength` bytes.
    static func make(
        keyLength: Int,
        valueLength: Int,
        flags: UInt32,
        initialize: (UnsafeMutableRawBufferPointer) -> Void
    ) -> StoredItem {
        let header = StoredItemHeader(
            keyLength: UInt32(keyLength),
            valueLength: UInt32(valueLength),
            flags: flags
        )
        let buffer = self.create(minimumCapacity: keyLength + valueLength) { _ in header }
        let item = unsafeDowncast(buffer, to: StoredItem.self)
        item.withUnsafeMutablePointerToElements { elements in
            initialize(UnsafeMutableRawBufferPointer(start: elements, count: keyLength + valueLength))
        }
        return item
    }

    /// Allocates an item holding copies of `key` and of the concatenation of `valueParts`.
    static func make(
        key: UnsafeRawBufferPointer,
        valueParts first: UnsafeRawBufferPointer,
        _ second: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0),
        flags: UInt32
    ) -> StoredItem {
        self.make(keyLength: key.count, valueLength: first.count + second.count, flags: flags) { bytes in
            // Spelled out rather than looping over an array of parts: that array would be an allocation.
            guard let start = bytes.baseAddress else { return }
            if let keyStart = key.baseAddress { start.copyMemory(from: keyStart, byteCount: key.count) }
            if let firstStart = first.baseAddress {
                (start + key.count).copyMemory(from: firstStart, byteCount: first.count)
            }
            if let secondStart = second.baseAddress {
                (start + key.count + first.count).copyMemory(from: secondStart, byteCount: second.count)
            }
        }
    }

    var keyLength: Int { Int(self.header.keyLength) }
    var valueLength: Int { Int(self.header.valueLength) }
    var flags: UInt32 { self.header.flags }

    /// Whether this item's key is exactly `key`.
    func hasKey(_ key: UnsafeRawBufferPointer) -> Bool {
        guard key.count == self.keyLength else { return false }
        guard let keyStart = key.baseAddress else { return true }
        return self.withUnsafeMutablePointerToElements { memcmp($0, keyStart, key.count) == 0 }
    }

    func withUnsafeKeyBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try self.withUnsafeMutablePointerToElements { elements in
            try body(UnsafeRawBufferPointer(start: elements, count: self.keyLength))
        }
    }

    func withUnsafeValueBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try self.withUnsafeMutablePointerToElements { elements in
            try body(UnsafeRawBufferPointer(start: elements + self.keyLength, count: self.valueLength))
        }
    }

    /// Writable view of the value; only for the in-place `incr`/`decr` described above.
    func withUnsafeMutableValueBytes<Result>(_ body: (UnsafeMutableRawBufferPointer) throws -> Result) rethrows -> Result {
        try self.withUnsafeMutablePointerToElements { elements in
            try body(UnsafeMutableRawBufferPointer(start: elements + self.keyLength, count: self.valueLength))
        }
    }
}
