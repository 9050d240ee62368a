package dev.earshot.voice.testing

import dev.earshot.voice.base.NanoClock
import dev.earshot.voice.ReceiveConfig
import dev.earshot.voice.VoiceReceiver
import dev.earshot.voice.codec.OpusDecoderFactory
import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.codec.SpeechFixtures
import dev.earshot.voice.crypto.EncryptionMode
import dev.earshot.voice.e2ee.FrameDecryptor
import dev.earshot.voice.identity.SsrcDirectory
import dev.earshot.voice.model.VoiceTick
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Deferred
import kotlinx.coroutines.ExperimentalCoroutinesApi
import kotlinx.coroutines.async
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.test.StandardTestDispatcher
import kotlinx.coroutines.test.TestScope

/** A receiver wired to a channel source and to the test's virtual clock. */
@OptIn(ExperimentalCoroutinesApi::class)
class ReceiverHarness(
    scope: TestScope,
    val key: ByteArray = FakeSpeaker.key(1),
    mode: EncryptionMode = EncryptionMode.AEAD_AES256_GCM_RTPSIZE,
    ssrcs: SsrcDirectory = SsrcDirectory(),
    decryptor: FrameDecryptor = FrameDecryptor.PASSTHROUGH,
    configure: ReceiveConfig.Builder.() -> Unit = {},
) {
    val source = ChannelDatagramSource()
    val receiver: VoiceReceiver
    /** Every tick, collected from before the start. */
    val ticks: Deferred<List<VoiceTick>>

    init {
        val dispatcher = StandardTestDispatcher(scope.testScheduler)
        val config = ReceiveConfig {
            clock = NanoClock { scope.testScheduler.currentTime * 1_000_000L }
            readDispatcher = dispatcher
            pipelineDispatcher = dispatcher
            configure()
        }
        receiver = VoiceReceiver(source, config, ssrcs, decryptor)
        receiver.setTransportKey(mode, key)
        ticks = scope.async(start = CoroutineStart.UNDISPATCHED) { receiver.ticks.toList() }
        receiver.start(scope)
    }
}

/**
 * Sends [packets] from [speaker] one per 20 ms of virtual time (leaving out the indices in [drop]; [before] runs
 * before each), then the five silence frames a Discord client sends when it stops talking, then ends the source.
 */
suspend fun ReceiverHarness.play(
    speaker: FakeSpeaker,
    packets: List<ByteArray>,
    drop: Set<Int> = emptySet(),
    before: (Int) -> Unit = {},
) {
    packets.forEachIndexed { i, p ->
        before(i)
        val d = speaker.datagram(p)
        if (i !in drop) source.offer(d)
        delay(20)
    }
    repeat(5) {
        source.offer(speaker.datagram(FakeSpeaker.SILENCE))
        delay(20)
    }
    source.close()
}

/** Speech packets from the stored test file (libopus, 20 ms, FEC on; see [SpeechFixtures]) for pipeline tests. */
object Speech {
    val packets: List<ByteArray> get() = SpeechFixtures.speech.packets

    /**
     * Decodes [packets] in order with a fresh decoder from [factory] (the receiver's default unless given): what a
     * lossless, in-order receive must reproduce exactly.
     */
    fun decodeAll(
        packets: List<ByteArray>,
        format: PcmFormat = PcmFormat.STEREO_48K,
        factory: OpusDecoderFactory = ReceiveConfig {}.decoderFactory,
    ): List<ShortArray> {
        val d = factory.create(format)
        val out = ShortArray(format.maxBufferSize)
        return packets.map { p ->
            val n = d.decode(p, 0, p.size, out)
            out.copyOf(n * format.channels)
        }
    }
}
