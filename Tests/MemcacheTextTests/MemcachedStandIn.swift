import MemcacheText
import NIOCore

/// Just enough of a memcached, on top of the codec, to replay transcripts recorded from the real
/// memcached 1.6.18 and compare every byte: a dictionary, CAS uniques, incr's in-place padding,
/// `noreply`, and the connection-closing rules. Expiry is reduced to "negative means gone".
struct MemcachedStandIn {
    struct Item {
        var flags: UInt32
        var data: [UInt8]
        var cas: UInt64
    }

    /// `user → password` when the connection must authenticate first (`--auth-file`).
    private let credentials: [String: String]?
    private(set) var isAuthenticated: Bool
    private var items: [[UInt8]: Item] = [:]
    private var nextCAS: UInt64 = 1
    private(set) var closed = false

    init(credentials: [String: String]? = nil) {
        self.credentials = credentials
        self.isAuthenticated = credentials == nil
    }

    /// Answers `request`, appending the reply to `output`.
    mutating func answer(_ request: MemcacheRequest, into output: inout ByteBuffer) {
        switch request {
        case .retrieval(let retrieval):
            for key in retrieval.keys {
                guard let item = self.items[Array(key.readableBytesView)] else { continue }
                output.writeMemcacheValue(
                    key: key,
                    flags: item.flags,
                    data: ByteBuffer(bytes: item.data),
                    cas: retrieval.command.returnsCAS ? item.cas : nil
                )
            }
            output.writeMemcacheReply(.end)
        case .storage(let storage):
            let reply = self.store(storage)
            if !storage.noreply {
                output.writeMemcacheReply(reply)
            }
        case .delete(let key, let noreply):
            let removed = self.items.removeValue(forKey: Array(key.readableBytesView)) != nil
            if !noreply {
                output.writeMemcacheReply(removed ? .deleted : .notFound)
            }
        case .increment(let key, let delta, let noreply):
            self.arithmetic(key: key, noreply: noreply, into: &output) { $0 &+ delta }
        case .decrement(let key, let delta, let noreply):
            self.arithmetic(key: key, noreply: noreply, into: &output) { $0 < delta ? 0 : $0 - delta }
        case .touch(let key, let exptime, let noreply):
            let keyBytes = Array(key.readableBytesView)
            let found = self.items[keyBytes] != nil
            if found, exptime < 0 {
                self.items[keyBytes] = nil
            }
            if !noreply {
                output.writeMemcacheReply(found ? .touched : .notFound)
            }
        case .flushAll(_, let noreply):
            self.items.removeAll()
            if !noreply {
                output.writeMemcacheReply(.ok)
            }
        case .stats:
            output.writeMemcacheReply(.end)
        case .version:
            output.writeMemcacheVersion("1.6.18")
        case .verbosity(_, let noreply):
            if !noreply {
                output.writeMemcacheReply(.ok)
            }
        case .quit:
            self.closed = true
        case .authenticate(let user, let password):
            if let credentials, credentials[String(buffer: user)] == String(buffer: password) {
                self.isAuthenticated = true
                output.writeMemcacheReply(.stored)
            } else {
                output.writeMemcacheReply(.authenticationFailure)
            }
        case .error(let error):
            if error.closesConnection {
                // memcached closes at once, dropping the replies pending from the same read.
                output.clear()
                self.closed = true
            } else {
                output.writeMemcacheError(error)
            }
        }
    }

    private mutating func store(_ request: MemcacheStorageRequest) -> MemcacheReply {
        let key = Array(request.key.readableBytesView)
        let data = Array(request.data.readableBytesView)
        let existing = self.items[key]
        var newData = data
        switch request.command {
        case .set:
            break
        case .add:
            if existing != nil { return .notStored }
        case .replace:
            if existing == nil { return .notStored }
        case .append:
            guard let existing else { return .notStored }
            newData = existing.data + data
        case .prepend:
            guard let existing else { return .notStored }
            newData = data + existing.data
        case .cas:
            guard let existing else { return .notFound }
            if existing.cas != request.casUnique { return .exists }
        }
        let flags = request.command == .append || request.command == .prepend ? existing!.flags : request.flags
        if request.exptime < 0 {
            self.items[key] = nil
        } else {
            self.items[key] = Item(flags: flags, data: newData, cas: self.takeCAS())
        }
        return .stored
    }

    private mutating func arithmetic(
        key: ByteBuffer,
        noreply: Bool,
        into output: inout ByteBuffer,
        _ operation: (UInt64) -> UInt64
    ) {
        let keyBytes = Array(key.readableBytesView)
        guard var item = self.items[keyBytes] else {
            if !noreply { output.writeMemcacheReply(.notFound) }
            return
        }
        // memcached reads the value with strtoull, so trailing spaces from an earlier in-place update are fine.
        let digits = item.data.prefix { $0 != UInt8(ascii: " ") }
        guard let value = UInt64(String(decoding: digits, as: UTF8.self)) else {
            if !noreply { output.writeMemcacheReply(.nonNumericValue) }
            return
        }
        let result = operation(value)
        var text = Array(String(result).utf8)
        // memcached rewrites a value that fits in place, padding it with spaces to its old length.
        if text.count <= item.data.count {
            text += Array(repeating: UInt8(ascii: " "), count: item.data.count - text.count)
        }
        item.data = text
        item.cas = self.takeCAS()
        self.items[keyBytes] = item
        if !noreply {
            output.writeMemcacheNumber(result)
        }
    }

    private mutating func takeCAS() -> UInt64 {
        defer { self.nextCAS += 1 }
        return self.nextCAS
    }
}
