package dev.earshot.voice.files

import dev.earshot.voice.base.VoiceConstants
import dev.earshot.voice.codec.OpusPacketInfo
import java.io.OutputStream
import java.nio.file.Files
import java.nio.file.Path
import kotlin.random.Random

/**
 * An Ogg Opus file writer (RFC 7845 on RFC 3533 pages) that stores received Opus packets as they are, without
 * decoding or re-encoding, and fills time without packets with silence packets so the file keeps the
 * caller's timeline.
 *
 * Sample n of the caller's timeline (its packets and gaps, from the first call on) plays at time n: the
 * stream opens with one 20 ms silence packet that the header's pre-skip removes again. That lead-in keeps the
 * pre-skip at a plausible value for players and checkers (opusinfo warns below 120) without dropping audio.
 *
 * The stream is one logical Ogg stream with channel mapping family 0: the OpusHead page (version 1, [channels],
 * pre-skip, input rate 48 000 Hz, output gain 0), the OpusTags page(s) (vendor `Earshot` and the caller's
 * comments), then audio pages, the last one flagged end-of-stream by [close]. Each audio page carries the
 * granule position of the last packet completed on it: the total samples per channel at 48 kHz of all packets
 * before its end, lead-in included (RFC 7845 §4 counts pre-skipped samples too), so a player of the finished
 * file plays `samplesWritten - preSkip` samples (see [samplesWritten]).
 *
 * A page is written, and the stream flushed, whenever at least [pageIntervalSamples] of audio have been added
 * since the last page, when a page's 255 segments are full, and on [flush]. The newest packet is always held
 * back for the next page so that the end-of-stream page written by [close] is never empty (an empty last page
 * has no duration of its own and checkers flag its granule position). A process killed mid-recording leaves a
 * file that plays up to its last complete page (it only lacks the end-of-stream flag): it loses at most
 * [pageIntervalSamples] plus one packet.
 *
 * Not thread-safe: use it from one coroutine or thread. I/O errors propagate as [java.io.IOException]; misuse
 * (an invalid argument to the constructor, writing after [close]) throws [IllegalArgumentException] or
 * [IllegalStateException]. Invalid packets are refused, never written.
 *
 * @param out where the file goes; the writer owns it and closes it in [close].
 * @param channels output channel count in OpusHead, 1 or 2 (default 2, Discord's). Packets coded with either
 *   channel count play in both: the decoder up- or down-mixes.
 * @param serial the Ogg logical stream serial number; random by default.
 * @param preSkip samples per channel at 48 kHz at the start of the caller's timeline that a player drops,
 *   0..64575; the header's pre-skip is this plus the 960-sample lead-in. The default 0 keeps every received
 *   sample, which aligned tracks need: received packets come from an encoder that started before the
 *   recording, so its look-ahead is not in them. Pass 312 when the first packet is the first one a libopus
 *   encoder produced (its look-ahead at 48 kHz).
 * @param comments user comments for OpusTags as `KEY=value` pairs, for example `DISCORD_USER_ID` (default
 *   none). Keys are ASCII 0x20..0x7D without `=` (RFC 7845 §5.2); values are UTF-8.
 * @param pageIntervalSamples most audio, in samples per channel at 48 kHz, between two pages (default
 *   48 000 = 1 s): with one packet, the most a killed process can lose.
 */
public class OggOpusWriter @JvmOverloads public constructor(
    out: OutputStream,
    public val channels: Int = VoiceConstants.CHANNELS,
    public val serial: Int = Random.nextInt(),
    public val preSkip: Int = 0,
    comments: Map<String, String> = emptyMap(),
    public val pageIntervalSamples: Int = VoiceConstants.SAMPLE_RATE,
) : AutoCloseable {
    /**
     * Writes a new file at [path] (created, or truncated if it exists); the other parameters are those of the
     * primary constructor.
     */
    @JvmOverloads
    public constructor(
        path: Path,
        channels: Int = VoiceConstants.CHANNELS,
        serial: Int = Random.nextInt(),
        preSkip: Int = 0,
        comments: Map<String, String> = emptyMap(),
        pageIntervalSamples: Int = VoiceConstants.SAMPLE_RATE,
    ) : this(
        // Checked before opening, so bad arguments leave no file behind.
        Files.newOutputStream(path.also { checkArguments(channels, preSkip, comments, pageIntervalSamples) }),
        channels, serial, preSkip, comments, pageIntervalSamples,
    )

    private val stream = out
    private val pages = OggPageWriter(out, serial)
    private var closed = false

    /** The newest packet, not yet laced into a page (see the class comment); a copy, callers reuse buffers. */
    private var held = ByteArray(INITIAL_HELD_CAPACITY)
    private var heldLength = -1
    private var heldGranule = 0L

    /** Granule position after the newest packet: lead-in plus [samplesWritten]. */
    private var granule = 0L

    /** Signed samples owed to (positive) or taken ahead of (negative) the caller's timeline, within ±60. */
    private var gapCarry = 0L

    /**
     * Samples per channel at 48 kHz of the caller's timeline written so far: packets and silence fill, without
     * the lead-in. A player of the finished file plays `samplesWritten - preSkip` samples.
     */
    public val samplesWritten: Long get() = granule - LEAD_IN_SAMPLES

    init {
        try {
            checkArguments(channels, preSkip, comments, pageIntervalSamples)
            // RFC 7845 §3: each header ends its page, so audio starts on a fresh page.
            val head = opusHead()
            pages.writePacket(head, 0, head.size, granuleAfter = 0)
            pages.flushPage()
            val tags = opusTags(comments)
            pages.writePacket(tags, 0, tags.size, granuleAfter = 0)
            pages.flushPage()
            append(LEAD_IN, 0, LEAD_IN.size, LEAD_IN_SAMPLES)
        } catch (e: Throwable) {
            try {
                out.close()
            } catch (closeFailure: Throwable) {
                e.addSuppressed(closeFailure)
            }
            throw e
        }
    }

    /**
     * Appends `opus[offset until offset + length]`, one Opus packet lasting [samples] samples per channel at
     * 48 kHz (by default read from its TOC). Any valid duration, 2.5 to 120 ms, is accepted.
     *
     * @return true if written; false, with nothing written, if the view is outside [opus], the packet is not
     *   a valid Opus packet (RFC 6716 §3), or [samples] differs from its TOC. Call [writeGap] with its
     *   duration to keep the timeline.
     */
    @JvmOverloads
    public fun writePacket(
        opus: ByteArray,
        offset: Int = 0,
        length: Int = opus.size,
        samples: Int = OpusPacketInfo.samplesPerChannel48k(opus, offset, length),
    ): Boolean {
        check(!closed) { "OggOpusWriter is closed" }
        val actual = OpusPacketInfo.samplesPerChannel48k(opus, offset, length)
        if (actual <= 0 || actual != samples) return false
        append(opus, offset, length, actual)
        return true
    }

    /**
     * Appends [samples] samples per channel at 48 kHz of silence: time that passed with no packet (before the
     * first packet, a pause, a lost packet). Non-positive values add nothing.
     *
     * Whole 20 ms are written as the silence frame `F8 FF FE`, the rest as 10, 5 and 2.5 ms CELT silence
     * packets. Opus has nothing shorter than 2.5 ms (120 samples), so each gap is rounded to the nearest
     * 120 samples and the difference is carried into the next gap: the file's timeline stays within ±60
     * samples (1.25 ms) of the caller's and never drifts. What is still owed at [close] is dropped.
     */
    public fun writeGap(samples: Int) {
        check(!closed) { "OggOpusWriter is closed" }
        if (samples <= 0) return
        val target = gapCarry + samples
        var units = Math.floorDiv(target + OpusSilence.UNIT_SAMPLES / 2, OpusSilence.UNIT_SAMPLES.toLong())
        gapCarry = target - units * OpusSilence.UNIT_SAMPLES
        for ((packetSamples, packet) in OpusSilence.PACKETS) {
            // Long gaps could use fewer, multi-frame packets; 20 ms ones are what Discord itself sends.
            val packetUnits = packetSamples / OpusSilence.UNIT_SAMPLES
            while (units >= packetUnits) {
                append(packet, 0, packet.size, packetSamples)
                units -= packetUnits
            }
        }
    }

    /** Writes the audio added since the last page, except the newest packet, as a page and flushes the stream. */
    public fun flush() {
        check(!closed) { "OggOpusWriter is closed" }
        if (pages.hasPendingSegments) pages.flushPage() else stream.flush()
    }

    /**
     * Writes the last page, with the newest packet and the end-of-stream flag, and closes the stream. Later
     * calls do nothing.
     */
    override fun close() {
        if (closed) return
        closed = true
        stream.use {
            laceHeld(mayEndPage = false)
            pages.flushPage(endOfStream = true)
        }
    }

    private fun append(buf: ByteArray, offset: Int, length: Int, samples: Int) {
        laceHeld(mayEndPage = true)
        if (held.size < length) held = ByteArray(maxOf(length, 2 * held.size))
        System.arraycopy(buf, offset, held, 0, length)
        heldLength = length
        granule += samples
        heldGranule = granule
    }

    private fun laceHeld(mayEndPage: Boolean) {
        if (heldLength < 0) return
        pages.writePacket(held, 0, heldLength, granuleAfter = heldGranule)
        heldLength = -1
        if (mayEndPage && heldGranule - pages.lastWrittenGranule >= pageIntervalSamples) pages.flushPage()
    }

    private fun opusHead(): ByteArray {
        val head = ByteArray(OPUS_HEAD_SIZE)
        "OpusHead".toByteArray(Charsets.US_ASCII).copyInto(head)
        head[8] = 1 // version
        head[9] = channels.toByte()
        putLe(head, 10, (LEAD_IN_SAMPLES + preSkip).toLong(), 2)
        putLe(head, 12, VoiceConstants.SAMPLE_RATE.toLong(), 4) // input sample rate, informational
        // 16: output gain 0 dB (2 bytes), 18: mapping family 0: already zero.
        return head
    }

    private fun opusTags(comments: Map<String, String>): ByteArray {
        val vendor = VENDOR.toByteArray(Charsets.UTF_8)
        val entries = comments.map { (k, v) -> "$k=$v".toByteArray(Charsets.UTF_8) }
        val tags = ByteArray(8 + 4 + vendor.size + 4 + entries.sumOf { 4 + it.size })
        "OpusTags".toByteArray(Charsets.US_ASCII).copyInto(tags)
        var pos = 8
        putLe(tags, pos, vendor.size.toLong(), 4)
        vendor.copyInto(tags, pos + 4)
        pos += 4 + vendor.size
        putLe(tags, pos, entries.size.toLong(), 4)
        pos += 4
        for (entry in entries) {
            putLe(tags, pos, entry.size.toLong(), 4)
            entry.copyInto(tags, pos + 4)
            pos += 4 + entry.size
        }
        return tags
    }

    private fun putLe(b: ByteArray, at: Int, value: Long, bytes: Int) {
        for (i in 0 until bytes) b[at + i] = (value ushr (8 * i)).toByte()
    }

    private companion object {
        fun checkArguments(channels: Int, preSkip: Int, comments: Map<String, String>, pageIntervalSamples: Int) {
            require(channels == 1 || channels == 2) { "channels must be 1 or 2 for mapping family 0, was $channels" }
            require(preSkip in 0..MAX_PRE_SKIP - LEAD_IN_SAMPLES) {
                "preSkip must be in 0..${MAX_PRE_SKIP - LEAD_IN_SAMPLES}, was $preSkip"
            }
            require(pageIntervalSamples > 0) { "pageIntervalSamples must be positive, was $pageIntervalSamples" }
            for (key in comments.keys) {
                require(key.isNotEmpty() && key.all { it in '\u0020'..'\u007D' && it != '=' }) {
                    "comment key \"$key\" must be ASCII 0x20..0x7D without '='"
                }
            }
        }

        const val VENDOR = "Earshot"
        const val OPUS_HEAD_SIZE = 19
        const val MAX_PRE_SKIP = 0xFFFF
        const val INITIAL_HELD_CAPACITY = 512

        /** One 20 ms silence frame before the caller's timeline, removed again by the pre-skip. */
        val LEAD_IN = OpusSilence.PACKETS[0].second
        val LEAD_IN_SAMPLES = OpusSilence.PACKETS[0].first
    }
}
