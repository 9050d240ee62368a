package dev.earshot.voice.sink

import dev.earshot.voice.model.AudioFrame
import dev.earshot.voice.audio.Mono16kConverter
import dev.earshot.voice.audio.SpeechSegmenter
import dev.earshot.voice.audio.Utterance
import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.model.VoiceTick

/**
 * Cuts each speaker's audio into utterances of 16 kHz mono PCM for speech-to-text and hands them to [onUtterance]
 * with the speaker's user (null if unknown; the utterance's key is the SSRC). Works from a receiver decoding
 * [input]: 16 kHz mono directly, or 48 kHz stereo converted per speaker (downmix and decimation, 1.25 ms delay).
 * Defaults: an utterance ends after 600 ms without audio, is split at 30 s, and is dropped under 200 ms of audio.
 */
public class SpeechSegmenterSink(
    private val input: PcmFormat = PcmFormat.MONO_16K,
    endSilenceTicks: Int = 30,
    maxTicks: Int = 1500,
    minTicks: Int = 10,
    private val onUtterance: suspend (VoiceUser?, Utterance) -> Unit,
) : AudioSink {
    private val segmenter = SpeechSegmenter(endSilenceTicks, maxTicks, minTicks)
    private val converters = HashMap<Long, Mono16kConverter>()
    private val users = HashMap<Long, Long?>()
    private val ready = ArrayList<Utterance>()

    override val wants: AudioFormat get() = AudioFormat.Pcm(input)

    override suspend fun write(user: VoiceUser?, data: AudioFrame) {
        // Segmenting needs whole ticks; onTick does the work.
    }

    override suspend fun onTick(tick: VoiceTick) {
        for (frame in tick.speaking) {
            val pcm = frame.pcm ?: continue
            users[frame.ssrc] = frame.userId
            val mono = if (input == PcmFormat.MONO_16K) pcm else converters.getOrPut(frame.ssrc) { Mono16kConverter() }.convert(pcm)
            segmenter.onFrame(frame.ssrc, tick.tick, mono, frame.rtpTimestamp) { ready += it }
        }
        segmenter.onTickEnd(tick.tick) { ready += it }
        deliver()
    }

    override suspend fun cleanup() {
        segmenter.flush { ready += it }
        deliver()
    }

    private suspend fun deliver() {
        if (ready.isEmpty()) return
        val batch = ready.toList()
        ready.clear()
        for (u in batch) onUtterance(users[u.key]?.let(::VoiceUser), u)
    }
}
