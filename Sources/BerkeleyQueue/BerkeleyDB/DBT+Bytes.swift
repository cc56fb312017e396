import CBerkeleyDB

/// DBTs (Berkeley DB's key/data descriptors) built on the stack around caller-owned bytes, so that
/// no record operation allocates.
///
/// Output DBTs use default flags: Berkeley DB points `data` at memory it owns (the handle's or the
/// cursor's return buffer), valid until the next call on the same handle. Berkeley DB never writes
/// through the pointer of an input DBT with default flags, so pointing one at read-only bytes is safe.
extension DBT {
    /// An input DBT for `bytes`, which must stay alive while the DBT is in use.
    ///
    /// - Throws: `BerkeleyDBError` (misuse) when `bytes` is longer than Berkeley DB's 4 GiB limit.
    static func input(_ bytes: UnsafeRawBufferPointer, for operation: StaticString) throws -> DBT {
        guard let size = UInt32(exactly: bytes.count) else {
            throw BerkeleyDBError.misuse("\(operation)", "a key or value of \(bytes.count) bytes is over 4 GiB")
        }
        var entry = DBT()
        entry.data = UnsafeMutableRawPointer(mutating: bytes.baseAddress)
        entry.size = size
        return entry
    }

    /// The bytes this DBT describes: after a read, Berkeley DB's buffer, valid until the next call on
    /// the handle that filled it.
    var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: data, count: Int(size))
    }
}
