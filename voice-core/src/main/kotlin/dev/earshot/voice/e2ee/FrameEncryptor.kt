package dev.earshot.voice.e2ee

/**
 * The end-to-end (DAVE) encryption step of the send path, applied to each Opus frame before RTP packetizing and
 * transport encryption. Without one, frames go out as they are (transport encryption only).
 *
 * Called from the audio player's coroutine only; must not throw for any frame.
 */
public interface FrameEncryptor {
    /** The largest [encrypt] output for a [length]-byte frame. */
    public fun maxEncryptedSize(length: Int): Int

    /**
     * Writes the frame `frame[offset, offset + length)` encrypted (or unchanged, when not in force) into [out]; returns
     * its length, or a negative value to drop the frame.
     */
    public fun encrypt(frame: ByteArray, offset: Int, length: Int, out: ByteArray): Int
}
