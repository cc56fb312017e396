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
/// Each message is one exact-size allocation (`[UInt32 length][bytes]`) referenced from a 24-byte
/// slot; slots sit in a ring, numbered by wrapping 32-bit sequences, so a sequence finds its slot
/// by subtraction. Equal messages (a queue that allows duplicates) are threaded through their
/// slots into a circle in queue order, and the index holds only the oldest of each content: a
/// thousand copies of one message cost one index entry and no probing. A message removed from the
/// middle leaves an empty slot behind, and the ring is compacted once empty slots outnumber
/// messages. About 150 bytes per 100-byte message in all.
///
/// A queue that allows duplicates and is only pushed and popped (the list idiom) never asks what
/// it holds, so its index and circles are built on the first lookup by content (a unique push,
/// SISMEMBER, SREM, LREM) and kept from then on, until the queue empties.
///
/// Not thread-safe: the owning queue's lock guards it.
struct MessageStore: ~Copyable {
    struct Slot {
        /// nil once the message was removed from the middle of the queue.
        var storage: UnsafeMutableRawPointer?
        var hash: UInt32
        var flags: UInt32
        /// The neighbours among equal messages, in queue order, as a circle: the oldest's
        /// `previousEqual` is the newest. Its own sequence when the message has no equal.
        var previousEqual: UInt32
        var nextEqual: UInt32
    }

    private var slots = Deque<Slot>()
    /// The sequence of `slots[0]`.
    private var headSequence: UInt32 = 0
    /// The oldest message of each content; empty, and every circle a single message, while
    /// `isIndexed` is false.
    private var index = MessageIndex()
    /// Whether `index`, the circles of equal messages and the slots' hashes are kept up to date.
    private var isIndexed = false
    /// Empty slots between the first and the last message.
    private var holes = 0

    /// Messages queued.
    private(set) var count = 0
    /// Bytes of message content queued.
    private(set) var contentBytes = 0

    /// How many different contents are queued (the index's size).
    var distinctContents: Int {
        mutating get {
            self.buildIndexIfNeeded()
            return self.index.count
        }
    }

    init() {}

    deinit {
        for slot in self.slots {
            slot.storage?.deallocate()
        }
    }

    // MARK: Operations

    /// Queues `message` at `end`. With `unique`, a message equal to one already queued is skipped.
    ///
    /// - Returns: Whether the message was queued.
    mutating func push(_ message: Message, at end: QueueEnd, unique: Bool) -> Bool {
        if unique {
            self.buildIndexIfNeeded()
        }
        var hash: UInt32 = 0
        var position: Int?
        if self.isIndexed {
            hash = Self.hash(message.bytes)
            position = self.find(message.bytes, hash: hash)
            if unique && position != nil {
                return false
            }
        }
        let storage = Self.store(message.bytes)
        let sequence: UInt32
        switch end {
        case .tail:
            sequence = self.headSequence &+ UInt32(truncatingIfNeeded: self.slots.count)
            self.slots.append(Slot(storage: storage, hash: hash, flags: message.flags, previousEqual: sequence, nextEqual: sequence))
        case .head:
            self.headSequence &-= 1
            sequence = self.headSequence
            self.slots.prepend(Slot(storage: storage, hash: hash, flags: message.flags, previousEqual: sequence, nextEqual: sequence))
        }
        if self.isIndexed {
            self.indexMessage(at: sequence, hash: hash, equalTo: position, joiningAt: end)
        }
        self.count += 1
        self.contentBytes += message.bytes.readableBytes
        return true
    }

    /// Takes the message at `end`, if any.
    mutating func pop(from end: QueueEnd) -> Message? {
        self.pop(from: end) { ByteBuffer(bytes: $0) }
    }

    /// The longest message ``pop(from:reusing:)`` copies into the buffer it is given.
    static let reusableBufferLimit = 4096

    /// Takes the message at `end` like ``pop(from:)``, its bytes copied into `buffer` (up to
    /// ``reusableBufferLimit`` bytes), which is reused when nothing else holds it any more: a pop
    /// whose reply is written at once then allocates nothing.
    mutating func pop(from end: QueueEnd, reusing buffer: inout ByteBuffer) -> Message? {
        self.pop(from: end) { bytes in
            guard bytes.count <= Self.reusableBufferLimit else { return ByteBuffer(bytes: bytes) }
            buffer.clear()
            buffer.writeBytes(bytes)
            return buffer
        }
    }

    private mutating func pop(from end: QueueEnd, copying copy: (UnsafeRawBufferPointer) -> ByteBuffer) -> Message? {
        // The ends are never holes (see `removeSlot`).
        guard let offset = end == .head ? self.slots.indices.first : self.slots.indices.last else {
            return nil
        }
        let slot = self.slots[offset]
        let message = Message(bytes: copy(Self.contents(slot.storage!)), flags: slot.flags)
        self.remove(sequence: self.headSequence &+ UInt32(truncatingIfNeeded: offset))
        return message
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

    /// Whether a message equal to `bytes` is queued.
    mutating func contains(_ bytes: ByteBuffer) -> Bool {
        self.buildIndexIfNeeded()
        return self.find(bytes, hash: Self.hash(bytes)) != nil
    }

    /// Removes every message equal to `bytes`, wherever it stands.
    ///
    /// - Returns: How many were removed.
    mutating func removeAll(equalTo bytes: ByteBuffer) -> Int {
        self.remove(equalTo: bytes, limit: .max, fromHead: true)
    }

    /// Removes up to `limit` messages equal to `bytes`: the oldest first when `fromHead`, else the
    /// newest first.
    ///
    /// - Returns: How many were removed.
    mutating func remove(equalTo bytes: ByteBuffer, limit: Int, fromHead: Bool) -> Int {
        self.buildIndexIfNeeded()
        let hash = Self.hash(bytes)
        var removed = 0
        // One at a time, finding the circle again: a removal may compact the ring, which
        // renumbers every sequence.
        while removed < limit, let position = self.find(bytes, hash: hash) {
            let oldest = self.index.sequence(at: position)
            self.remove(sequence: fromHead ? oldest : self[oldest].previousEqual)
            removed += 1
        }
        return removed
    }

    // MARK: Slots

    private subscript(sequence: UInt32) -> Slot {
        get { self.slots[Int(sequence &- self.headSequence)] }
        set { self.slots[Int(sequence &- self.headSequence)] = newValue }
    }

    /// The index position of the oldest message equal to `bytes`.
    private func find(_ bytes: ByteBuffer, hash: UInt32) -> Int? {
        bytes.withUnsafeReadableBytes { self.find($0, hash: hash) }
    }

    private func find(_ wanted: UnsafeRawBufferPointer, hash: UInt32) -> Int? {
        self.index.find(hash: hash) { sequence in
            Self.equals(self[sequence].storage!, wanted)
        }
    }

    /// Enters the message at `sequence` into the index, or into the circle of the equal messages
    /// whose oldest is at index `position`: as the newest when it joined at the tail, as the
    /// oldest at the head.
    private mutating func indexMessage(at sequence: UInt32, hash: UInt32, equalTo position: Int?, joiningAt end: QueueEnd) {
        guard let position else {
            self.index.insert(sequence: sequence, hash: hash)
            return
        }
        let oldest = self.index.sequence(at: position)
        let newest = self[oldest].previousEqual
        self[sequence].previousEqual = newest
        self[sequence].nextEqual = oldest
        self[newest].nextEqual = sequence
        self[oldest].previousEqual = sequence
        if end == .head {
            self.index.replaceSequence(at: position, with: sequence)
        }
    }

    /// Indexes every queued message, in queue order, unless that is done already.
    private mutating func buildIndexIfNeeded() {
        guard !self.isIndexed else { return }
        self.isIndexed = true
        for offset in self.slots.indices {
            guard let storage = self.slots[offset].storage else { continue }
            let contents = Self.contents(storage)
            let hash = Self.hash(contents)
            self.slots[offset].hash = hash
            let sequence = self.headSequence &+ UInt32(truncatingIfNeeded: offset)
            self.indexMessage(at: sequence, hash: hash, equalTo: self.find(contents, hash: hash), joiningAt: .tail)
        }
    }

    /// Takes a message out of its circle of equals and the index, then frees its slot.
    private mutating func remove(sequence: UInt32) {
        if self.isIndexed {
            self.unindexMessage(at: sequence)
        }
        self.removeSlot(at: Int(sequence &- self.headSequence))
    }

    private mutating func unindexMessage(at sequence: UInt32) {
        let slot = self[sequence]
        guard slot.nextEqual != sequence else {
            let position = self.index.find(hash: slot.hash) { $0 == sequence }!
            self.index.remove(at: position)
            return
        }
        let previous = slot.previousEqual
        let next = slot.nextEqual
        self[previous].nextEqual = next
        self[next].previousEqual = previous
        // The oldest of the circle is the one whose previous (the newest) comes after it.
        if (previous &- self.headSequence) > (sequence &- self.headSequence) {
            let position = self.index.find(hash: slot.hash) { $0 == sequence }!
            self.index.replaceSequence(at: position, with: next)
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
            // An emptied queue gives back its ring, and indexes again only when asked to.
            self.slots = Deque()
            self.isIndexed = false
        }
    }

    /// Drops the holes and renumbers the messages, their circles and the index; O(n), paid for
    /// by the removals that made the holes.
    private mutating func compact() {
        let head = self.headSequence
        var newOffsets = [UInt32](repeating: 0, count: self.slots.count)
        var compacted = Deque<Slot>()
        compacted.reserveCapacity(self.count)
        for (offset, slot) in self.slots.enumerated() where slot.storage != nil {
            newOffsets[offset] = UInt32(truncatingIfNeeded: compacted.count)
            compacted.append(slot)
        }
        for offset in compacted.indices {
            compacted[offset].previousEqual = head &+ newOffsets[Int(compacted[offset].previousEqual &- head)]
            compacted[offset].nextEqual = head &+ newOffsets[Int(compacted[offset].nextEqual &- head)]
        }
        self.slots = compacted
        self.holes = 0
        if self.isIndexed {
            Self.rebuildIndex(&self.index, slots: self.slots, head: head)
        }
    }

    /// Indexes the oldest message of each content.
    private static func rebuildIndex(_ index: inout MessageIndex, slots: Deque<Slot>, head: UInt32) {
        let oldest = slots.indices.lazy.filter { offset in
            Int(slots[offset].previousEqual &- head) >= offset
        }
        index.rebuild(
            count: oldest.count,
            oldest.map { (head &+ UInt32(truncatingIfNeeded: $0), slots[$0].hash) }
        )
    }

    // MARK: Message storage

    static func hash(_ bytes: ByteBuffer) -> UInt32 {
        bytes.withUnsafeReadableBytes { Self.hash($0) }
    }

    static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        UInt32(truncatingIfNeeded: Self.hasher.hash(bytes))
    }

    /// Random per process, so a client cannot pick messages that share one probe chain.
    private static let hasher = ByteHasher(seed: UInt64.random(in: .min ... .max))

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
