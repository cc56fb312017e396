import ASCIIBytes
import NIOCore

extension ByteBuffer {
    /// Writes one of memcached's fixed replies (`STORED\r\n`, `END\r\n`...).
    @inlinable
    @discardableResult
    public mutating func writeMemcacheReply(_ reply: MemcacheReply) -> Int {
        self.writeStaticString(reply.line)
    }

    /// Writes the reply memcached gives to a rejected request — nothing when the request said
    /// `noreply` or when memcached closes silently.
    @inlinable
    @discardableResult
    public mutating func writeMemcacheError(_ error: MemcacheRequestError) -> Int {
        error.noreply ? 0 : self.writeStaticString(error.reply)
    }

    /// Writes `VALUE <key> <flags> <bytes>[ <cas>]\r\n<data>\r\n`. The closing `END\r\n` is written
    /// separately (``writeMemcacheReply(_:)`` with ``MemcacheReply/end``), once after all hits.
    @inlinable
    @discardableResult
    public mutating func writeMemcacheValue(key: ByteBuffer, flags: UInt32, data: ByteBuffer, cas: UInt64? = nil) -> Int {
        let start = self.writerIndex
        self.reserveCapacity(minimumWritableBytes: key.readableBytes + data.readableBytes + 64)
        self.writeMemcacheValueHeader(key: key, flags: flags, byteCount: data.readableBytes, cas: cas)
        self.writeImmutableBuffer(data)
        self.writeStaticString("\r\n")
        return self.writerIndex - start
    }

    /// Writes `VALUE <key> <flags> <bytes>[ <cas>]\r\n<data>\r\n` from any contiguous storage
    /// (`[UInt8]`, `UnsafeRawBufferPointer`...).
    @inlinable
    @discardableResult
    public mutating func writeMemcacheValue<Key: Collection<UInt8>, Data: Collection<UInt8>>(
        key: Key,
        flags: UInt32,
        data: Data,
        cas: UInt64? = nil
    ) -> Int {
        let start = self.writerIndex
        self.reserveCapacity(minimumWritableBytes: key.count + data.count + 64)
        let writtenInPlace = key.withContiguousStorageIfAvailable { keyBytes in
            self.writeMemcacheValueHeader(keyBytes: UnsafeRawBufferPointer(keyBytes), flags: flags, byteCount: data.count, cas: cas)
        }
        if writtenInPlace == nil {
            // A key without contiguous storage (rare): copy it, keys are short.
            Array(key).withUnsafeBytes {
                _ = self.writeMemcacheValueHeader(keyBytes: $0, flags: flags, byteCount: data.count, cas: cas)
            }
        }
        self.writeBytes(data)
        self.writeStaticString("\r\n")
        return self.writerIndex - start
    }

    /// Writes only the `VALUE <key> <flags> <bytes>[ <cas>]\r\n` line, for servers that write the data
    /// themselves; the data must follow, then `\r\n`.
    @inlinable
    @discardableResult
    public mutating func writeMemcacheValueHeader(key: ByteBuffer, flags: UInt32, byteCount: Int, cas: UInt64? = nil) -> Int {
        key.withUnsafeReadableBytes { keyBytes in
            self.writeMemcacheValueHeader(keyBytes: keyBytes, flags: flags, byteCount: byteCount, cas: cas)
        }
    }

    /// `VALUE <key> <flags> <bytes>[ <cas>]\r\n` in a single write: the hottest reply of a cache.
    @inlinable
    mutating func writeMemcacheValueHeader(
        keyBytes: UnsafeRawBufferPointer,
        flags: UInt32,
        byteCount: Int,
        cas: UInt64?
    ) -> Int {
        // "VALUE " + key + " " + flags + " " + bytes [+ " " + cas] + "\r\n"
        let length = 6 + keyBytes.count + 1 + ASCIIDecimal.digitCount(UInt64(flags)) + 1
            + ASCIIDecimal.digitCount(UInt64(byteCount)) + (cas.map { 1 + ASCIIDecimal.digitCount($0) } ?? 0) + 2
        return self.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { target in
            var position = 0
            for byte in "VALUE ".utf8 {
                target[position] = byte
                position += 1
            }
            if let base = keyBytes.baseAddress {
                (target.baseAddress! + position).copyMemory(from: base, byteCount: keyBytes.count)
            }
            position += keyBytes.count
            target[position] = UInt8(ascii: " ")
            position += 1
            position += ASCIIDecimal.write(UInt64(flags), into: UnsafeMutableRawBufferPointer(rebasing: target[position...]))
            target[position] = UInt8(ascii: " ")
            position += 1
            position += ASCIIDecimal.write(UInt64(byteCount), into: UnsafeMutableRawBufferPointer(rebasing: target[position...]))
            if let cas {
                target[position] = UInt8(ascii: " ")
                position += 1
                position += ASCIIDecimal.write(cas, into: UnsafeMutableRawBufferPointer(rebasing: target[position...]))
            }
            target[position] = UInt8(ascii: "\r")
            target[position + 1] = UInt8(ascii: "\n")
            return position + 2
        }
    }

    /// Writes the new value of an `incr`/`decr`: `<number>\r\n`.
    @inlinable
    @discardableResult
    public mutating func writeMemcacheNumber(_ value: UInt64) -> Int {
        self.writeDecimal(value) + self.writeStaticString("\r\n")
    }

    /// Writes `VERSION <version>\r\n`.
    @inlinable
    @discardableResult
    public mutating func writeMemcacheVersion(_ version: String) -> Int {
        self.writeStaticString("VERSION ") + self.writeString(version) + self.writeStaticString("\r\n")
    }

    /// Writes `STAT <name> <value>\r\n`.
    @inlinable
    @discardableResult
    public mutating func writeMemcacheStat(_ name: StaticString, _ value: UInt64) -> Int {
        self.writeMemcacheStatName(name) + self.writeDecimal(value) + self.writeStaticString("\r\n")
    }

    /// Writes `STAT <name> <value>\r\n` for a signed value.
    @inlinable
    @discardableResult
    public mutating func writeMemcacheStat(_ name: StaticString, _ value: Int) -> Int {
        self.writeMemcacheStatName(name) + self.writeDecimal(value) + self.writeStaticString("\r\n")
    }

    /// Writes `STAT <name> <value>\r\n` for a constant value (`on`, `no`, `NULL`...).
    @inlinable
    @discardableResult
    public mutating func writeMemcacheStat(_ name: StaticString, _ value: StaticString) -> Int {
        self.writeMemcacheStatName(name) + self.writeStaticString(value) + self.writeStaticString("\r\n")
    }

    /// Writes `STAT <name> <value>\r\n` for computed text (`rusage_user 0.138404`, the version...).
    @inlinable
    @discardableResult
    public mutating func writeMemcacheStat(named name: String, value: String) -> Int {
        self.writeStaticString("STAT ") + self.writeString(name) + self.writeInteger(UInt8(ascii: " "))
            + self.writeString(value) + self.writeStaticString("\r\n")
    }

    /// Writes MemcacheQ's `stats queue` line, `STAT <queue> <added>/<removed>\r\n`: counts since the
    /// queue was created, so that its length is added − removed.
    @inlinable
    @discardableResult
    public mutating func writeMemcacheQueueStat(queue: ByteBuffer, added: UInt64, removed: UInt64) -> Int {
        self.writeStaticString("STAT ") + self.writeImmutableBuffer(queue) + self.writeInteger(UInt8(ascii: " "))
            + self.writeDecimal(added) + self.writeInteger(UInt8(ascii: "/")) + self.writeDecimal(removed)
            + self.writeStaticString("\r\n")
    }

    /// `STAT <name> `
    @inlinable
    mutating func writeMemcacheStatName(_ name: StaticString) -> Int {
        self.writeStaticString("STAT ") + self.writeStaticString(name) + self.writeInteger(UInt8(ascii: " "))
    }

    /// Writes `SERVER_ERROR <message>\r\n` (disk full and other server-side failures).
    @inlinable
    @discardableResult
    public mutating func writeMemcacheServerError(_ message: String) -> Int {
        self.writeStaticString("SERVER_ERROR ") + self.writeString(message) + self.writeStaticString("\r\n")
    }

    /// Writes `CLIENT_ERROR <message>\r\n`.
    @inlinable
    @discardableResult
    public mutating func writeMemcacheClientError(_ message: String) -> Int {
        self.writeStaticString("CLIENT_ERROR ") + self.writeString(message) + self.writeStaticString("\r\n")
    }
}
