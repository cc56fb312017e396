import CBerkeleyDB

/// A Berkeley DB cursor (`DBC`) on one database, in one transaction, available only inside
/// `Transaction.withCursor(on:_:)`: it is non-copyable and lent to that closure, so it cannot outlive
/// the closure, and the closure's end closes it — always before its transaction resolves.
///
/// Each positioning call moves the cursor and lends the record it lands on (key and value) to a
/// closure, returning what the closure returned, or nil when there is no such record (`DB_NOTFOUND`
/// is a result, not an error; the cursor's position is then unchanged). The lent bytes are the
/// cursor's return buffers (default `DBT` flags): valid only inside the closure, since the next call
/// on this cursor reuses them. Copy what must outlive it.
///
/// B-Tree keys compare bytewise, so with big-endian integer keys the cursor walks in numeric order,
/// and `seek(toFirstKeyAtOrAfter:_:)` with a prefix finds the prefix's first key.
public struct Cursor: ~Copyable {
    /// The database the cursor walks.
    public let database: Database
    /// The `DBC` handle, valid while the environment's cursor registry still holds it in `slot`.
    private let handle: UnsafeMutablePointer<DBC>
    /// This cursor's entry in the environment's registry of open cursors.
    private let slot: Int

    init(database: Database, handle: UnsafeMutablePointer<DBC>, slot: Int) {
        self.database = database
        self.handle = handle
        self.slot = slot
    }

    /// How a positioning call moves the cursor.
    @usableFromInline
    enum Movement {
        case first, last, next, previous, nextDuplicate, current, key, firstKeyAtOrAfter, pair

        var flag: UInt32 {
            switch self {
            case .first: UInt32(DB_FIRST)
            case .last: UInt32(DB_LAST)
            case .next: UInt32(DB_NEXT)
            case .previous: UInt32(DB_PREV)
            case .nextDuplicate: UInt32(DB_NEXT_DUP)
            case .current: UInt32(DB_CURRENT)
            case .key: UInt32(DB_SET)
            case .firstKeyAtOrAfter: UInt32(DB_SET_RANGE)
            case .pair: UInt32(DB_GET_BOTH)
            }
        }

        var operation: String {
            switch self {
            case .first: "DBC->get(DB_FIRST)"
            case .last: "DBC->get(DB_LAST)"
            case .next: "DBC->get(DB_NEXT)"
            case .previous: "DBC->get(DB_PREV)"
            case .nextDuplicate: "DBC->get(DB_NEXT_DUP)"
            case .current: "DBC->get(DB_CURRENT)"
            case .key: "DBC->get(DB_SET)"
            case .firstKeyAtOrAfter: "DBC->get(DB_SET_RANGE)"
            case .pair: "DBC->get(DB_GET_BOTH)"
            }
        }
    }

    // MARK: - Moving

    /// Moves to the first record (`DB_FIRST`): the smallest key in a B-Tree.
    @inlinable
    public func first<Result>(_ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Result) throws -> Result? {
        try move(.first, body)
    }

    /// Moves to the last record (`DB_LAST`): the largest key in a B-Tree.
    @inlinable
    public func last<Result>(_ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Result) throws -> Result? {
        try move(.last, body)
    }

    /// Moves to the next record (`DB_NEXT`), including the current key's next duplicate; from an
    /// unpositioned cursor, to the first record.
    @inlinable
    public func next<Result>(_ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Result) throws -> Result? {
        try move(.next, body)
    }

    /// Moves to the previous record (`DB_PREV`); from an unpositioned cursor, to the last record.
    @inlinable
    public func previous<Result>(_ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Result) throws -> Result? {
        try move(.previous, body)
    }

    /// Moves to the current key's next duplicate (`DB_NEXT_DUP`); nil when it has no more.
    @inlinable
    public func nextDuplicate<Result>(_ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Result) throws -> Result? {
        try move(.nextDuplicate, body)
    }

    /// Reads the record under the cursor again (`DB_CURRENT`); nil when it was deleted.
    @inlinable
    public func current<Result>(_ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Result) throws -> Result? {
        try move(.current, body)
    }

    /// Moves to `key` (`DB_SET`), on its first duplicate.
    @inlinable
    public func seek<Result>(
        toKey key: some DatabaseBytes,
        _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Result
    ) throws -> Result? {
        var result: Result?
        try key.withDatabaseBytes { key in
            try position(.key, key: key, value: nil) { key, value in result = try body(key, value) }
        }
        return result
    }

    /// Moves to the smallest key at or after `key` (`DB_SET_RANGE`), in a B-Tree: with a prefix of a
    /// big-endian composite key, the prefix's first record (check that the found key still has the
    /// prefix). In a Hash database, order is undefined and this matches `key` exactly or not at all.
    @inlinable
    public func seek<Result>(
        toFirstKeyAtOrAfter key: some DatabaseBytes,
        _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Result
    ) throws -> Result? {
        var result: Result?
        try key.withDatabaseBytes { key in
            try position(.firstKeyAtOrAfter, key: key, value: nil) { key, value in result = try body(key, value) }
        }
        return result
    }

    /// Moves to the exact key/value pair (`DB_GET_BOTH`), typically one duplicate of a key.
    @inlinable
    public func seek<Result>(
        toKey key: some DatabaseBytes,
        value: some DatabaseBytes,
        _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Result
    ) throws -> Result? {
        var result: Result?
        try key.withDatabaseBytes { key in
            try value.withDatabaseBytes { value in
                try position(.pair, key: key, value: value) { key, value in result = try body(key, value) }
            }
        }
        return result
    }

    /// Moves over the records after the current one (the first ones when `fromStart`) in bulk
    /// (`DB_MULTIPLE_KEY`): as many whole records as fit in `buffer`, at least one page's worth,
    /// which it lends to `body` one by one. One call instead of one per record: a walk over a
    /// whole database costs a fraction of `next` per record. The cursor ends on the last record
    /// read.
    ///
    /// - Parameter buffer: Room for the records; at least as large as the database's page size.
    /// - Returns: How many records were read: 0 at the end.
    public func nextRecords(
        fromStart: Bool = false,
        into buffer: UnsafeMutableRawBufferPointer,
        _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Void
    ) throws -> Int {
        let cursor = try requireHandle("DBC->get(DB_MULTIPLE_KEY)")
        guard let base = buffer.baseAddress, let size = UInt32(exactly: buffer.count), size >= 8 else {
            throw BerkeleyDBError.misuse("DBC->get(DB_MULTIPLE_KEY) \(database.description)", "a buffer of \(buffer.count) bytes")
        }
        var keyEntry = DBT()
        var bulk = DBT()
        bulk.data = base
        bulk.ulen = size
        bulk.flags = UInt32(DB_DBT_USERMEM)
        let flags = UInt32(fromStart ? DB_FIRST : DB_NEXT) | UInt32(DB_MULTIPLE_KEY)
        let code = cursor.pointee.get(cursor, &keyEntry, &bulk, flags)
        if code == DB_NOTFOUND { return 0 }
        try database.environment.check(code) { "DBC->get(DB_MULTIPLE_KEY) \(database.description)" }
        // DB_MULTIPLE_KEY_NEXT, which Swift cannot import: from the buffer's end backwards, each
        // record's key offset, key length, value offset and value length, until an offset of -1.
        let bytes = UnsafeRawBufferPointer(buffer)
        var slot = buffer.count - 4
        var count = 0
        while slot >= 12 {
            let keyOffset = bytes.loadUnaligned(fromByteOffset: slot, as: UInt32.self)
            if keyOffset == UInt32.max { break }
            let keyLength = bytes.loadUnaligned(fromByteOffset: slot - 4, as: UInt32.self)
            let valueOffset = bytes.loadUnaligned(fromByteOffset: slot - 8, as: UInt32.self)
            let valueLength = bytes.loadUnaligned(fromByteOffset: slot - 12, as: UInt32.self)
            slot -= 16
            try body(
                UnsafeRawBufferPointer(rebasing: bytes[Int(keyOffset)..<Int(keyOffset + keyLength)]),
                UnsafeRawBufferPointer(rebasing: bytes[Int(valueOffset)..<Int(valueOffset + valueLength)])
            )
            count += 1
        }
        return count
    }

    // MARK: - Changing

    /// Deletes the record under the cursor (`DBC->del`); the cursor stays where it was, so `next`
    /// moves on to the record after it.
    ///
    /// - Returns: False when the record was already deleted.
    @discardableResult
    public func deleteCurrent() throws -> Bool {
        let cursor = try requireHandle("DBC->del")
        let code = cursor.pointee.del(cursor, 0)
        if code == DB_KEYEMPTY || code == DB_NOTFOUND { return false }
        try database.environment.check(code) { "DBC->del \(database.description)" }
        return true
    }

    /// How many values the current key holds (`DBC->count`): 1 without duplicates.
    public func duplicateCount() throws -> Int {
        let cursor = try requireHandle("DBC->count")
        var count: db_recno_t = 0
        try database.environment.check(cursor.pointee.count(cursor, &count, 0)) { "DBC->count \(database.description)" }
        return Int(count)
    }

    // MARK: - Cores

    @usableFromInline
    func move<Result>(
        _ movement: Movement,
        _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Result
    ) throws -> Result? {
        var result: Result?
        try position(movement, key: nil, value: nil) { key, value in result = try body(key, value) }
        return result
    }

    /// Moves the cursor and lends the record it lands on to `body`; does not call `body` when
    /// there is no such record.
    @usableFromInline
    func position(
        _ movement: Movement,
        key: UnsafeRawBufferPointer?,
        value: UnsafeRawBufferPointer?,
        _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Void
    ) throws {
        let cursor = try requireHandle(movement.operation)
        var keyEntry = try key.map { try DBT.input($0, for: "DBC->get") } ?? DBT()
        var valueEntry = try value.map { try DBT.input($0, for: "DBC->get") } ?? DBT()
        let code = cursor.pointee.get(cursor, &keyEntry, &valueEntry, movement.flag)
        if code == DB_NOTFOUND || code == DB_KEYEMPTY { return }
        try database.environment.check(code) { "\(movement.operation) \(database.description)" }
        try body(keyEntry.bytes, valueEntry.bytes)
    }

    /// The `DBC` handle while the cursor is open, or a misuse error once its transaction closed it.
    @inline(__always)
    private func requireHandle(_ operation: @autoclosure () -> String) throws -> UnsafeMutablePointer<DBC> {
        guard database.environment.openCursor(inSlot: slot) == handle else {
            throw BerkeleyDBError.misuse(
                "\(operation()) \(database.description)", "the cursor's transaction is already committed or aborted")
        }
        return handle
    }
}
