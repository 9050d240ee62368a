package dev.earshot.voice.pipeline

import dev.earshot.voice.model.AudioFrame
import dev.earshot.voice.model.FrameKind
import dev.earshot.voice.model.VoiceEvent
import dev.earshot.voice.model.VoiceTick

/**
 * One speaker's share of one tick as [Speaker.plan] decided it on the pipeline's thread, and, once its
 * [SpeakerDecoder] has run it, that tick's [AudioFrame]. Holds only immutable inputs (private copies of the Opus
 * bytes), never a pooled packet, so the pipeline may recycle its buffers while the decoding is still to come.
 *
 * The plan is a list of operations on the speaker's decoder, in the order playout decided them: continue the carried
 * rest of a 40/60 ms packet ([carry48] samples at 48 kHz), then per audible slice one of [DECODE] (a packet),
 * [RECOVER] (a missing packet: FEC from the next packet's bytes when given, else concealment) or [CONCEAL] (an
 * underrun or stretch), each placed at a 48 kHz offset in the tick, [n48] samples long, with what does not fit
 * carried into the next tick. Gaps and silence frames need no operation: their samples stay zero.
 */
internal class FrameWork(
    val decoder: SpeakerDecoder,
    val ssrc: Long,
) {
    var userId: Long? = null
        private set
    var tick: Long = -1L
        private set
    var sequence: Int = 0
    var rtpTimestamp: Long = 0L
    var opus: ByteArray? = null
    var extraOpus: List<ByteArray> = emptyList()
    var audioLevel: Int = -1
    var speakerFlags: Int = -1

    /** 48 kHz samples of the carried rest that start the tick; 0 when nothing is carried. */
    var carry48: Int = 0

    // Operations, OP_FIELDS ints each, and the bytes each one decodes (null for none).
    private var ops = IntArray(2 * OP_FIELDS)
    private var bytes = arrayOfNulls<ByteArray>(2)

    /** Number of operations planned. */
    var size: Int = 0
        private set

    /** Filled by the decoder: the tick's PCM (null without decoding) and what kind of audio the frame is. */
    var pcm: ShortArray? = null
    var kind: FrameKind = FrameKind.DECODED

    /**
     * Adds an operation: [code] on [data] (a private copy, or null), [dur48] samples long at 48 kHz, placed at [at48]
     * with [n48] samples in this tick ([dur48] > [n48]: the rest is carried), [reset] the decoder first.
     */
    fun add(code: Int, data: ByteArray?, dur48: Int, at48: Int, n48: Int, reset: Boolean) {
        if (size == bytes.size) {
            ops = ops.copyOf(ops.size * 2)
            bytes = bytes.copyOf(bytes.size * 2)
        }
        val o = size * OP_FIELDS
        ops[o] = code
        ops[o + 1] = dur48
        ops[o + 2] = at48
        ops[o + 3] = n48
        ops[o + 4] = if (reset) 1 else 0
        bytes[size] = data
        size++
    }

    /**
     * Makes this work empty again for [tick] of [userId]. A speaker reuses its works in turn ([Speaker]'s ring): by
     * the time one comes round again, the tick it was planned for has gone out, and the frame made from it holds no
     * part of it.
     */
    fun reset(tick: Long, userId: Long?) {
        this.tick = tick
        this.userId = userId
        sequence = 0
        rtpTimestamp = 0L
        opus = null
        extraOpus = emptyList()
        audioLevel = -1
        speakerFlags = -1
        carry48 = 0
        bytes.fill(null, 0, size)
        size = 0
        pcm = null
        kind = FrameKind.DECODED
    }

    fun code(i: Int): Int = ops[i * OP_FIELDS]
    fun dur48(i: Int): Int = ops[i * OP_FIELDS + 1]
    fun at48(i: Int): Int = ops[i * OP_FIELDS + 2]
    fun n48(i: Int): Int = ops[i * OP_FIELDS + 3]
    fun reset(i: Int): Boolean = ops[i * OP_FIELDS + 4] != 0
    fun bytes(i: Int): ByteArray? = bytes[i]

    /** The frame, after [SpeakerDecoder.run]. */
    fun frame(): AudioFrame = AudioFrame(
        ssrc = ssrc,
        userId = userId,
        tick = tick,
        sequence = sequence,
        rtpTimestamp = rtpTimestamp,
        pcm = pcm,
        opus = opus,
        kind = kind,
        audioLevel = audioLevel,
        speakerFlags = speakerFlags,
        extraOpus = extraOpus,
    )

    companion object {
        const val DECODE = 1
        const val RECOVER = 2
        const val CONCEAL = 3
        private const val OP_FIELDS = 5
    }
}

/**
 * One tick between its planning on the pipeline's thread and its emission: the speakers in playout order, each with
 * its [FrameWork] or null when silent in this tick, and the speaking events that go out just before the tick.
 * [decode] runs every speaker's work (on one thread or shared out by [ParallelRound]) and assembles [voiceTick] in
 * the same order as the speakers, so the tick is the same whichever thread decoded what.
 */
internal class PlannedTick(
    val tick: Long,
    private val ssrcs: Array<Long?>,
    private val works: Array<FrameWork?>,
    val events: List<VoiceEvent>,
) {
    /** Set by the clock (its thread only) when it counted this tick late as it planned it. */
    var countedLate: Boolean = false

    /** Whether any speaker has work in this tick (else there is nothing to decode, only a tick to assemble). */
    val hasWork: Boolean = works.any { it != null }

    /** Set once decoded, and decoders of departed speakers to close after it; guarded by [TickDecoder]'s lock. */
    var decoded: Boolean = false
    var closeAfter: ArrayList<SpeakerDecoder>? = null

    /** Set by [decode]; read after the hand-off back to the pipeline's thread. */
    var voiceTick: VoiceTick? = null
        private set
    var failure: Throwable? = null

    fun decode(round: ParallelRound) {
        val n = works.size
        try {
            if (n < PARALLEL_FROM_SPEAKERS) {
                for (i in 0 until n) works[i]?.let { it.decoder.run(it) }
            } else {
                round.run(n) { i -> works[i]?.let { it.decoder.run(it) } }
            }
        } catch (t: Throwable) {
            failure = t
            return
        }
        var frames: ArrayList<AudioFrame>? = null
        var silent: HashSet<Long>? = null
        for (i in 0 until n) {
            val w = works[i]
            if (w != null) {
                (frames ?: ArrayList<AudioFrame>(n).also { frames = it }) += w.frame()
            } else {
                (silent ?: HashSet<Long>().also { silent = it }) += ssrcs[i]!!
            }
        }
        voiceTick = VoiceTick(tick, frames ?: emptyList(), silent ?: emptySet())
    }
}
