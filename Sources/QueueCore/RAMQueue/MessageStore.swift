import DequeModule
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The messages of one RAM queue: FIFO order plus an index by content, so that pushes can skip
/// equal messages and SREM can take one out of the middle, both in O(1).
///
/// Each message is one exact-size allocation (`[UInt32 length][bytes]`) referenced from a 16-byte
/// slot; slots sit in a ring, numbered by wrapping 32-bit sequences, so a sequence finds its slot
/// by subtraction. A message removed from the middle leaves an empty slot behind, and the ring is
/// compacted once empty slots outnumber messages. About 140 bytes per 100-byte message in all.
///
/// Not thread-safe: the owning queue's lock guards it.
struct MessageStore: ~Copyable {
    struct Slot {
        /// nil once the message was removed from the middle of the queue.
        var storage: UnsafeMutableRawPointer?
        var hash: UInt32
        var flags: UInt32
    }

    private var slots = Deque<Slot>()
    /// The sequence of `slots[0]`.
    private var headSequence: UInt32 = 0
    private var index = MessageIndex()
    /// Empty slots between the first and the last message.
    private var holes = 0

    /// Messages queued.
    private(set) var count = 0
    /// Bytes of message content queued.
    private(set) var contentBytes = 0

    init() {}

    deinit {
        for slot in self.slots {
            slot.storage?.deallocate()
        }
    }

    /// Bytes this queue holds beyond its message content: slots, index and allocation headers.
    var overheadBytes: Int {
        self.slots.count * MemoryLayout<Slot>.stride + self.index.allocatedBytes
            + self.count * Self.perMessageOverhead
    }

    /// The length header plus malloc's own header, per message.
    static let perMessageOverhead = MemoryLayout<UInt32>.size + 8

    // MARK: Operations

    /// Queues `message` at `end`. With `unique`, a message equal to one already queued is skipped.
    ///
    /// - Returns: Whether the message was queued.
    mutating func push(_ message: Message, at end: QueueEnd, unique: Bool) -> Bool {
        let hash = Self.hash(message.bytes)
        if unique && self.find(message.bytes, hash: hash) != nil {
            return false
        }
        let storage = Self.store(message.bytes)
        let slot = Slot(storage: storage, hash: hash, flags: message.flags)
        let sequence: UInt32
        switch end {
        case .tail:
            sequence = self.headSequence &+ UInt32(truncatingIfNeeded: self.slots.count)
            self.slots.append(slot)
        case .head:
            self.headSequence &-= 1
            sequence = self.headSequence
            self.slots.prepend(slot)
        }
        Self.indexInsert(&self.index, sequence: sequence, hash: hash, slots: self.slots, head: self.headSequence)
        self.count += 1
        self.contentBytes += message.bytes.readableBytes
        return true
    }

    /// Takes the message at `end`, if any.
    mutating func pop(from end: QueueEnd) -> Message? {
        // The ends are never holes (see `removeSlot`).
        guard let offset = end == .head ? self.slots.indices.first : self.slots.indices.last else {
            return nil
        }
        let slot = self.slots[offset]
        let message = Message(bytes: Self.load(slot.storage!), flags: slot.flags)
        let sequence = self.headSequence &+ UInt32(truncatingIfNeeded: offset)
        let position = self.index.find(hash: slot.hash) { $0 == sequence }!
        Self.indexRemove(&self.index, at: position, slots: self.slots, head: self.headSequence)
        self.removeSlot(at: offset)
        return message
    }

    /// Whether a message equal to `bytes` is queued.
    func contains(_ bytes: ByteBuffer) -> Bool {
        self.find(bytes, hash: Self.hash(bytes)) != nil
    }

    /// Removes every message equal to `bytes`, wherever it stands.
    ///
    /// - Returns: How many were removed.
    mutating func removeAll(equalTo bytes: ByteBuffer) -> Int {
        let hash = Self.hash(bytes)
        var removed = 0
        while let position = self.find(bytes, hash: hash) {
            let offset = Int(self.index.sequence(at: position) &- self.headSequence)
            Self.indexRemove(&self.index, at: position, slots: self.slots, head: self.headSequence)
            self.removeSlot(at: offset)
            removed += 1
        }
        return removed
    }

    /// The message at `end`, left in place.
    func peek(at end: QueueEnd) -> Message? {
        guard let slot = end == .head ? self.slots.first : self.slots.last else { return nil }
        return Message(bytes: Self.load(slot.storage!), flags: slot.flags)
    }

    /// The messages from position `start` through `stop` (both from 0 at the head), holes skipped.
    func messages(from start: Int, through stop: Int) -> [Message] {
        guard start <= stop, start < self.count else { return [] }
        var found: [Message] = []
        found.reserveCapacity(min(stop, self.count - 1) - start + 1)
        var position = 0
        for slot in self.slots {
            guard let storage = slot.storage else { continue }
            if position >= start {
                found.append(Message(bytes: Self.load(storage), flags: slot.flags))
            }
            position += 1
            if position > stop {
                break
            }
        }
        return found
    }

    /// Removes up to `limit` messages equal to `bytes`: the oldest first when `fromHead`, else the
    /// newest first.
    ///
    /// - Returns: How many were removed.
    mutating func remove(equalTo bytes: ByteBuffer, limit: Int, fromHead: Bool) -> Int {
        let hash = Self.hash(bytes)
        var removed = 0
        // One at a time: a removal may compact the ring, which renumbers every sequence.
        while removed < limit {
            var chosen: Int?
            bytes.withUnsafeReadableBytes { wanted in
                self.index.forEach(hash: hash) { sequence in
                    let offset = Int(sequence &- self.headSequence)
                    guard Self.equals(self.slots[offset].storage!, wanted) else { return }
                    if let best = chosen, fromHead ? best <= offset : best >= offset { return }
                    chosen = offset
                }
            }
            guard let offset = chosen else { break }
            let sequence = self.headSequence &+ UInt32(truncatingIfNeeded: offset)
            let position = self.index.find(hash: self.slots[offset].hash) { $0 == sequence }!
            Self.indexRemove(&self.index, at: position, slots: self.slots, head: self.headSequence)
            self.removeSlot(at: offset)
            removed += 1
        }
        return removed
    }

    // MARK: Slots

    // The index asks for the hash of entries it moves; it finds them in the slots. Both helpers
    // borrow `slots` beside the mutated `index`, so the ring is never copied.
    private static func indexInsert(
        _ index: inout MessageIndex, sequence: UInt32, hash: UInt32, slots: Deque<Slot>, head: UInt32
    ) {
        index.insert(sequence: sequence, hash: hash) { slots[Int($0 &- head)].hash }
    }

    private static func indexRemove(_ index: inout MessageIndex, at position: Int, slots: Deque<Slot>, head: UInt32) {
        index.remove(at: position) { slots[Int($0 &- head)].hash }
    }

    /// The index position of a message equal to `bytes`.
    private func find(_ bytes: ByteBuffer, hash: UInt32) -> Int? {
        bytes.withUnsafeReadableBytes { wanted in
            self.index.find(hash: hash) { sequence in
                let slot = self.slots[Int(sequence &- self.headSequence)]
                return Self.equals(slot.storage!, wanted)
            }
        }
    }

    /// Frees the message in the slot at `offset` and keeps both ends of the ring on a message.
    private mutating func removeSlot(at offset: Int) {
        let storage = self.slots[offset].storage!
        self.contentBytes -= Int(storage.load(as: UInt32.self))
        storage.deallocate()
        self.slots[offset].storage = nil
        self.count -= 1
        self.holes += 1
        while let first = self.slots.first, first.storage == nil {
            self.slots.removeFirst()
            self.headSequence &+= 1
            self.holes -= 1
        }
        while let last = self.slots.last, last.storage == nil {
            self.slots.removeLast()
            self.holes -= 1
        }
        if self.holes > 64 && self.holes > self.count {
            self.compact()
        } else if self.slots.isEmpty {
            // An emptied queue gives back its ring.
            self.slots = Deque()
        }
    }

    /// Drops the holes and renumbers the messages; O(n), paid for by the removals that made them.
    private mutating func compact() {
        self.slots = Deque(self.slots.lazy.filter { $0.storage != nil })
        self.holes = 0
        Self.rebuildIndex(&self.index, slots: self.slots, head: self.headSequence)
    }

    private static func rebuildIndex(_ index: inout MessageIndex, slots: Deque<Slot>, head: UInt32) {
        index.rebuild(
            count: slots.count,
            slots.enumerated().lazy.map { (head &+ UInt32(truncatingIfNeeded: $0.offset), $0.element.hash) }
        )
    }

    // MARK: Message storage

    static func hash(_ bytes: ByteBuffer) -> UInt32 {
        var hasher = Hasher()
        bytes.withUnsafeReadableBytes { hasher.combine(bytes: $0) }
        return UInt32(truncatingIfNeeded: hasher.finalize())
    }

    private static func store(_ bytes: ByteBuffer) -> UnsafeMutableRawPointer {
        let length = bytes.readableBytes
        let storage = UnsafeMutableRawPointer.allocate(
            byteCount: MemoryLayout<UInt32>.size + length,
            alignment: MemoryLayout<UInt32>.alignment
        )
        storage.storeBytes(of: UInt32(length), as: UInt32.self)
        bytes.withUnsafeReadableBytes { source in
            if let base = source.baseAddress {
                (storage + MemoryLayout<UInt32>.size).copyMemory(from: base, byteCount: length)
            }
        }
        return storage
    }

    private static func contents(_ storage: UnsafeMutableRawPointer) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(
            start: storage + MemoryLayout<UInt32>.size,
            count: Int(storage.load(as: UInt32.self))
        )
    }

    private static func load(_ storage: UnsafeMutableRawPointer) -> ByteBuffer {
        ByteBuffer(bytes: Self.contents(storage))
    }

    private static func equals(_ storage: UnsafeMutableRawPointer, _ bytes: UnsafeRawBufferPointer) -> Bool {
        let stored = Self.contents(storage)
        guard stored.count == bytes.count else { return false }
        guard let left = stored.baseAddress, let right = bytes.baseAddress else { return true }
        return memcmp(left, right, bytes.count) == 0
    }
}
