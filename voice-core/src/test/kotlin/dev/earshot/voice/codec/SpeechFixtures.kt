package dev.earshot.voice.codec

import dev.earshot.voice.testing.readOggResource
import dev.earshot.voice.files.OggOpusReader
import dev.earshot.voice.files.OggOpusStream
import dev.earshot.voice.testing.Pcm

/** The speech test data of `src/test/resources/audio` (see its README.md) and decode helpers. */
object SpeechFixtures {
    /** Mono, 32 kbit/s, 20 ms hybrid packets, in-band FEC on. */
    val speech: OggOpusStream by lazy { readOggResource("/audio/speech.opus") }

    /** The same encode with in-band FEC off. */
    val speechNoFec: OggOpusStream by lazy { readOggResource("/audio/speech-nofec.opus") }

    /** Stereo SILK-only wideband, in-band FEC on, 40 ms and 60 ms packets. */
    val stereo40: OggOpusStream by lazy { readOggResource("/audio/speech-stereo-40ms.opus") }
    val stereo60: OggOpusStream by lazy { readOggResource("/audio/speech-stereo-60ms.opus") }

    /** libopus 1.3.1 (`opusdec --no-dither`) decodes of [speech], pre-skip already removed. */
    val reference48k: ShortArray by lazy { Pcm.readS16leGz("/audio/speech-ref-48k.s16.gz") }
    val reference16k: ShortArray by lazy { Pcm.readS16leGz("/audio/speech-ref-16k.s16.gz") }

    /** Decodes every packet in order; returns the interleaved output including the pre-skip samples. */
    fun decodeAll(decoder: OpusFrameDecoder, packets: List<ByteArray>): ShortArray {
        val out = ShortArray(decoder.format.maxBufferSize)
        val all = ShortArray(packets.size * decoder.format.maxBufferSize)
        var used = 0
        for (packet in packets) {
            val n = decoder.decode(packet, 0, packet.size, out)
            check(n > 0) { "decode failed" }
            System.arraycopy(out, 0, all, used, n * decoder.format.channels)
            used += n * decoder.format.channels
        }
        return all.copyOf(used)
    }
}
