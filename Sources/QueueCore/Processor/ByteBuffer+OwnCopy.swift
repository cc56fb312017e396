import NIOCore

extension ByteBuffer {
    /// The readable bytes in an exact-size buffer of their own. What a processor keeps (a queue
    /// name, say) must not be a slice: it would pin the client's whole receive buffer.
    public func ownCopy() -> ByteBuffer {
        var copy = ByteBufferAllocator().buffer(capacity: self.readableBytes)
        copy.writeImmutableBuffer(self)
        return copy
    }
}
