package dev.earshot.voice.files

import dev.earshot.voice.VoiceConstants
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
 * The stream is one logical Ogg stream with channel mapping family 0: the OpusHead page (version 1, [channels],
 * pre-skip, input rate 48 000 Hz, output gain 0), the OpusTags page(s) (vendor `Earshot` and the caller's
 * comments), then audio pages, the last one flagged end-of-stream by [close]. Each audio page carries the
 * granule position of the last packet completed on it: the total samples per channel at 48 kHz of all packets
 * so far ([samplesWritten]), which per RFC 7845 §4 counts the pre-skip samples too, so a player plays
 * `samplesWritten - preSkip` samples.
 *
 * A page is written, and the stream flushed, whenever at least [pageIntervalSamples] of audio have been added
 * since the last page, when a page's 255 segments are full, and on [flush]; a process killed mid-recording
 * leaves a file that plays up to its last complete page (it only lacks the end-of-stream flag).
 *
 * Not thread-safe: use it from one coroutine or thread. I/O errors propagate as [java.io.IOException]; misuse
 * (an invalid argument to the constructor, writing after [close]) throws [IllegalArgumentException] or
 * [IllegalStateException]. Invalid packets are refused, never written.
 *
 * @param out where the file goes; the writer owns it and closes it in [close].
 * @param channels output channel count in OpusHead, 1 or 2 (default 2, Discord's). Packets coded with either
 *   channel count play in both: the decoder up- or down-mixes.
 * @param serial the Ogg logical stream serial number; random by default.
 * @param preSkip samples per channel at 48 kHz a player drops from the start (RFC 7845 §4.2), 0..65535. The
 *   default 0 keeps sample n of the file at time n of the recording, which is what aligned tracks need: the
 *   packets come from an encoder that started before the recording, so its 312-sample look-ahead was not
 *   captured. Pass 312 only when the first packet is the first one of a libopus encoder.
 * @param comments user comments for OpusTags as `KEY=value` pairs, for example `DISCORD_USER_ID` (default
 *   none). Keys are ASCII 0x20..0x7D without `=` (RFC 7845 §5.2); values are UTF-8.
 * @param pageIntervalSamples most audio, in samples per channel at 48 kHz, between two pages (default
 *   48 000 = 1 s): the most a killed process can lose.
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
    ) : this(Files.newOutputStream(path), channels, serial, preSkip, comments, pageIntervalSamples)

    private val stream = out
    private val pages = OggPageWriter(out, serial)
    private var closed = false

    /** Signed samples owed to (positive) or taken ahead of (negative) the caller's timeline, within ±60. */
    private var gapCarry = 0L

    /**
     * Samples per channel at 48 kHz of all packets written so far, silence fill included; the granule
     * position of the latest packet.
     */
    public var samplesWritten: Long = 0
        private set

    init {
        try {
            require(channels == 1 || channels == 2) { "channels must be 1 or 2 for mapping family 0, was $channels" }
            require(preSkip in 0..MAX_PRE_SKIP) { "preSkip must be in 0..$MAX_PRE_SKIP, was $preSkip" }
            require(pageIntervalSamples > 0) { "pageIntervalSamples must be positive, was $pageIntervalSamples" }
            for (key in comments.keys) {
                require(key.isNotEmpty() && key.all { it in '\u0020'..'\u007D' && it != '=' }) {
                    "comment key \"$key\" must be ASCII 0x20..0x7D without '='"
                }
            }
            // RFC 7845 §3: each header ends its page, so audio starts on a fresh page.
            val head = opusHead()
            pages.writePacket(head, 0, head.size, granuleAfter = 0)
            pages.flushPage()
            val tags = opusTags(comments)
            pages.writePacket(tags, 0, tags.size, granuleAfter = 0)
            pages.flushPage()
        } catch (e: Throwable) {
            out.close()
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
            val packetUnits = packetSamples / OpusSilence.UNIT_SAMPLES
            while (units >= packetUnits) {
                append(packet, 0, packet.size, packetSamples)
                units -= packetUnits
            }
        }
    }

    /** Writes the audio added since the last page as a page and flushes the stream. */
    public fun flush() {
        check(!closed) { "OggOpusWriter is closed" }
        if (pages.hasPendingSegments) pages.flushPage() else stream.flush()
    }

    /** Writes the last page, flagged end-of-stream, and closes the stream. Later calls do nothing. */
    override fun close() {
        if (closed) return
        closed = true
        stream.use { pages.flushPage(endOfStream = true) }
    }

    private fun append(buf: ByteArray, offset: Int, length: Int, samples: Int) {
        samplesWritten += samples
        pages.writePacket(buf, offset, length, granuleAfter = samplesWritten)
        if (samplesWritten - pages.lastWrittenGranule >= pageIntervalSamples) pages.flushPage()
    }

    private fun opusHead(): ByteArray {
        val head = ByteArray(OPUS_HEAD_SIZE)
        "OpusHead".toByteArray(Charsets.US_ASCII).copyInto(head)
        head[8] = 1 // version
        head[9] = channels.toByte()
        putLe(head, 10, preSkip.toLong(), 2)
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
        const val VENDOR = "Earshot"
        const val OPUS_HEAD_SIZE = 19
        const val MAX_PRE_SKIP = 0xFFFF
    }
}
