/// Redis's list positions: 0 is the head, -1 the tail; out-of-range ends are clamped as LRANGE
/// clamps them. Shared by every processor so that LRANGE and LINDEX agree everywhere.
public enum ListPositions {
    /// The positions LRANGE `start` `stop` covers in a list of `count`, or nil when none.
    public static func range(start: Int, stop: Int, count: Int) -> ClosedRange<Int>? {
        var first = start < 0 ? count + start : start
        var last = stop < 0 ? count + stop : stop
        first = max(first, 0)
        last = min(last, count - 1)
        guard first <= last, first < count else { return nil }
        return first...last
    }

    /// The position LINDEX `index` names in a list of `count`, or nil when outside it.
    public static func element(_ index: Int, count: Int) -> Int? {
        let position = index < 0 ? count + index : index
        return (0..<count).contains(position) ? position : nil
    }
}
