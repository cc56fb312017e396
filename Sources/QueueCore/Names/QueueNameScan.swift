import NIOCore

/// SCAN over queue names with Redis's guarantee: a name present for a whole scan is returned at
/// least once, whatever is added or removed meanwhile.
///
/// Names are visited in the order of a fixed 64-bit hash; the cursor is the next hash to visit, so
/// it needs no server-side state and survives any change to the set of names. Names that share a
/// hash always land in the same page.
public enum QueueNameScan {
    /// Picks the page after `cursor`: at most `count` names (more only to keep a hash group
    /// together), filtered by `pattern`, and the cursor that continues the scan (0 when done).
    public static func page<Names: Sequence>(
        of names: Names,
        after cursor: UInt64,
        matching pattern: GlobPattern?,
        count: Int
    ) -> (cursor: UInt64, names: [ByteBuffer]) where Names.Element == ByteBuffer {
        var candidates: [(hash: UInt64, name: ByteBuffer)] = []
        for name in names {
            let hash = self.hash(name)
            if hash >= cursor && (pattern?.matches(name) ?? true) {
                candidates.append((hash, name))
            }
        }
        candidates.sort { $0.hash < $1.hash }
        let pageSize = max(count, 1)
        guard candidates.count > pageSize else {
            return (0, candidates.map(\.name))
        }
        var end = pageSize
        let lastHash = candidates[end - 1].hash
        while end < candidates.count && candidates[end].hash == lastHash {
            end += 1
        }
        guard end < candidates.count else {
            return (0, candidates.map(\.name))
        }
        return (candidates[end].hash, candidates[..<end].map(\.name))
    }

    /// FNV-1a: fixed across runs, so a cursor means the same thing to every server instance.
    static func hash(_ name: ByteBuffer) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name.readableBytesView {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return hash
    }
}

extension QueueReply {
    /// The reply to ``QueueCommand/names(matching:)``: the queues among `names` that match `pattern`
    /// (all of them without one).
    public static func matchingNames<Names: Sequence>(_ names: Names, pattern: ByteBuffer?) -> QueueReply
    where Names.Element == ByteBuffer {
        let glob = pattern.map(GlobPattern.init)
        return .names(names.filter { glob?.matches($0) ?? true })
    }

    /// The reply to ``QueueCommand/scan(cursor:matching:count:)``: one page of `names`.
    public static func scanning<Names: Sequence>(
        _ names: Names,
        after cursor: UInt64,
        pattern: ByteBuffer?,
        count: Int
    ) -> QueueReply where Names.Element == ByteBuffer {
        let page = QueueNameScan.page(of: names, after: cursor, matching: pattern.map(GlobPattern.init), count: count)
        return .scanPage(cursor: page.cursor, names: page.names)
    }
}
