package dev.earshot.voice.pipeline

import dev.earshot.voice.base.VoiceConstants
import dev.earshot.voice.identity.SsrcDirectory

/**
 * A pooled datagram buffer plus what the stages learn about it. Exactly one stage owns a packet at a time; it
 * either passes it on through a channel or gives it back to the [PacketPool]. Never reaches user code.
 */
internal class ReceivedPacket {
    val data = ByteArray(VoiceConstants.MAX_DATAGRAM)
    var length = 0
    var arrivalNanos = 0L

    // Set by the decrypt stage.
    var ssrc = 0L
    var sequence = 0
    var timestamp = 0L
    var payloadOffset = 0
    var payloadLength = 0
    var audioLevel = -1
    var speakerFlags = -1

    // Set by the resolver: the Discord user, or SsrcDirectory.UNKNOWN (the one "no user" value inside the pipeline;
    // public values say null instead, converted once per speaker in Speaker.userIdOrNull).
    var userId = SsrcDirectory.UNKNOWN

    fun clear() {
        length = 0
        userId = SsrcDirectory.UNKNOWN
        audioLevel = -1
        speakerFlags = -1
    }
}

/**
 * A bounded free list of [ReceivedPacket]s shared by the reader thread and the pipeline, so steady-state receive
 * allocates no buffers. When empty it allocates; when full, released packets are left to the GC.
 */
internal class PacketPool(private val maxPooled: Int = 1024) {
    private val free = arrayOfNulls<ReceivedPacket>(maxPooled)
    private var count = 0
    private val lock = Any()

    fun acquire(): ReceivedPacket {
        synchronized(lock) {
            if (count > 0) {
                val p = free[--count]!!
                free[count] = null
                return p
            }
        }
        return ReceivedPacket()
    }

    fun release(packet: ReceivedPacket) {
        packet.clear()
        synchronized(lock) {
            if (count < maxPooled) free[count++] = packet
        }
    }
}
