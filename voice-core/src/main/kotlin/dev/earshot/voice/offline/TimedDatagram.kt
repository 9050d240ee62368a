package dev.earshot.voice.offline

import java.time.Instant

/**
 * One datagram as it arrived from the voice server, with its arrival time: what a capture holds and what
 * [OfflineReceiver.replay] plays back. [bytes] is the whole UDP payload (still encrypted), owned by this object.
 *
 * @property at wall-clock arrival time.
 * @property bytes the datagram.
 */
public class TimedDatagram(public val at: Instant, public val bytes: ByteArray) {
    override fun toString(): String = "TimedDatagram(at=$at, ${bytes.size} bytes)"
}
