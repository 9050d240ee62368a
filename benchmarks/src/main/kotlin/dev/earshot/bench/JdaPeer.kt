package dev.earshot.bench

import dev.earshot.voice.codec.OpusDecoderFactory
import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.crypto.EncryptionMode
import dev.earshot.voice.crypto.JceGcmPerPacket
import dev.earshot.voice.crypto.RtpsizeLayout
import dev.earshot.voice.crypto.TransportCipher
import dev.earshot.voice.crypto.cipherFactories
import dev.earshot.voice.testing.FakeSpeaker
import gnu.trove.map.hash.TIntLongHashMap
import gnu.trove.map.hash.TIntObjectHashMap
import net.dv8tion.jda.api.audio.OpusPacket
import net.dv8tion.jda.internal.audio.AudioEncryption
import net.dv8tion.jda.internal.audio.AudioPacket
import net.dv8tion.jda.internal.audio.CryptoAdapter
import net.dv8tion.jda.internal.audio.Decoder
import net.dv8tion.jda.internal.utils.ResizingByteBuffer
import java.net.DatagramPacket
import java.nio.ByteBuffer
import javax.crypto.Cipher

/** The JDA version whose classes are on the class path (from its jar's manifest or Maven metadata). */
internal val jdaVersion: String by lazy {
    CryptoAdapter::class.java.`package`?.implementationVersion
        ?: runCatching {
            CryptoAdapter::class.java.getResourceAsStream("/META-INF/maven/net.dv8tion/JDA/pom.properties")
                ?.use { java.util.Properties().apply { load(it) }.getProperty("version") }
        }.getOrNull()
        ?: "6.5.0"
}

/**
 * JDA's per-datagram receive path, as the body of its UDP receive loop (`AudioConnection`'s receive thread) runs it
 * for a handler that takes encoded audio ([decode] false) or user audio ([decode] true), minus the blocking socket
 * call: the datagram is copied into the loop's 4096-byte array (as `DatagramSocket.receive` does), wrapped in a
 * `DatagramPacket`, parsed (`AudioPacket`), its SSRC looked up in the same Trove map, decrypted by JDA's
 * `CryptoAdapter` for [mode] into the loop's `ResizingByteBuffer`, the SSRC's `Decoder` looked up (created on
 * first use), and an `OpusPacket` made (which copies the Opus payload); with [decode], `OpusPacket.decode()` decodes
 * it through JDA's `Decoder` (libopus over opus-java's JNA binding, 48 kHz stereo). JDA applies no jitter buffer,
 * reordering, loss concealment or FEC. JDA's DAVE adapter is not in the path (transport-only call).
 */
internal class JdaReceiveLoop(mode: EncryptionMode, key: ByteArray, ssrcs: LongArray, private val decode: Boolean) {
    private val buffer = ByteArray(4096)
    private val crypto: CryptoAdapter = CryptoAdapter.getAdapter(
        if (mode == EncryptionMode.AEAD_AES256_GCM_RTPSIZE) AudioEncryption.AEAD_AES256_GCM_RTPSIZE else AudioEncryption.AEAD_XCHACHA20_POLY1305_RTPSIZE,
        key,
    )
    private val decryptBuffer = ResizingByteBuffer(ByteBuffer.allocateDirect(1024))
    private val ssrcMap = TIntLongHashMap()
    private val decoders = TIntObjectHashMap<Decoder>()

    init {
        checkNotNull(jdaLibopus) { "no libopus path for JDA's decoder" }
        for ((i, ssrc) in ssrcs.withIndex()) ssrcMap.put(ssrc.toInt(), 5000L + i)
    }

    /** Handles one datagram; returns the Opus packet handed to the handler and, with decode, the PCM (else null). */
    fun handle(datagram: ByteArray): Pair<ByteArray, ShortArray?>? {
        System.arraycopy(datagram, 0, buffer, 0, datagram.size)
        val received = DatagramPacket(buffer, 0, datagram.size)
        val packet = AudioPacket(received)
        val ssrc = packet.ssrc
        val userId = if (ssrcMap.containsKey(ssrc)) ssrcMap.get(ssrc) else return null
        val decrypted = packet.asDecryptAudioPacket(crypto, userId, decryptBuffer) ?: return null
        var decoder = decoders.get(ssrc)
        if (decoder == null) {
            decoder = newDecoder(ssrc)
            decoders.put(ssrc, decoder)
        }
        val opus = OpusPacket(decrypted, userId, decoder)
        return if (decode) opus.opusAudio to opus.decode() else opus.opusAudio to null
    }

    /** Same as [handle] without building the pair, for the measured loop; returns a value that depends on the output. */
    fun handleFast(datagram: ByteArray): Int {
        System.arraycopy(datagram, 0, buffer, 0, datagram.size)
        val received = DatagramPacket(buffer, 0, datagram.size)
        val packet = AudioPacket(received)
        val ssrc = packet.ssrc
        if (!ssrcMap.containsKey(ssrc)) return 0
        val userId = ssrcMap.get(ssrc)
        val decrypted = packet.asDecryptAudioPacket(crypto, userId, decryptBuffer) ?: return 0
        var decoder = decoders.get(ssrc)
        if (decoder == null) {
            decoder = newDecoder(ssrc)
            decoders.put(ssrc, decoder)
        }
        val opus = OpusPacket(decrypted, userId, decoder)
        return if (decode) (opus.decode()?.size ?: 0) else opus.opusAudio.size
    }

    private fun newDecoder(ssrc: Int): Decoder =
        DECODER_CONSTRUCTOR.newInstance(ssrc)

    private companion object {
        // Decoder's constructor is protected (JDA makes them in its own package).
        val DECODER_CONSTRUCTOR = Decoder::class.java.getDeclaredConstructor(Int::class.javaPrimitiveType).apply { isAccessible = true }
    }
}

/**
 * Points opus-java's JNA binding (`tomp2p.opuswrapper.Opus`, which JDA's `Decoder` calls) at the libopus the native
 * Earshot rows use, so that both decode on the same library; returns that library's path, or null if the native
 * factory names none. Runs before the first JDA decoder is created (JDA creates one per SSRC even when it only
 * hands out encoded audio).
 */
internal val jdaLibopus: String? by lazy {
    val path = Regex("""\((/[^)]*)\)$""").find(nativeFactory().source)?.groupValues?.get(1)
    if (path != null) System.setProperty("opus.lib", path)
    path
}

/**
 * Checks JDA's path packet by packet before it is measured: every datagram must yield the Opus packet that went in
 * (behind the extension body JDA leaves in place, when the datagrams carry one) and, with [decodeWith], the same PCM
 * as Earshot's decoder from [decodeWith] on the same SSRC's stream.
 */
internal fun checkJda(mode: EncryptionMode, datagrams: Array<ByteArray>, ssrcs: LongArray, speech: List<ByteArray>, decodeWith: OpusDecoderFactory?) {
    // JDA 6.5.0 leaves the decrypted header-extension body (one word in these datagrams) in front of the Opus packet.
    val extensionBody = if (RtpsizeLayout.rtpAadLength(datagrams[0], 0, datagrams[0].size) > RtpsizeLayout.RTP_FIXED_HEADER_LENGTH) 4 else 0
    val loop = JdaReceiveLoop(mode, FakeSpeaker.key(7), ssrcs, decode = decodeWith != null)
    val n = ssrcs.size
    val ours = decodeWith?.let { f -> List(n) { f.create(PcmFormat.STEREO_48K) } }
    val pcm = ShortArray(PcmFormat.STEREO_48K.maxBufferSize)
    // Decoding every datagram would take long with libopus in both; the first pass over the speech is enough.
    val count = if (decodeWith != null) minOf(datagrams.size, n * speech.size) else datagrams.size
    for (i in 0 until count) {
        val (opus, decoded) = loop.handle(datagrams[i]) ?: error("JDA dropped datagram $i")
        val expected = speech[(i / n) % speech.size]
        check(opus.size == expected.size + extensionBody && opus.copyOfRange(extensionBody, opus.size).contentEquals(expected)) {
            "JDA's Opus packet $i differs from what was sent (${opus.size} B, expected $extensionBody + ${expected.size} B)"
        }
        if (ours != null) {
            val samples = ours[i % n].decode(expected, 0, expected.size, pcm) * 2
            check(decoded != null && decoded.size == samples && (0 until samples).all { decoded[it] == pcm[it] }) {
                "JDA's PCM for packet $i differs from Earshot's decoder on the same library"
            }
        }
    }
    ours?.forEach { it.close() }
}

/**
 * Bare decryption loops over [datagrams] (copied into a receive buffer first, AAD length from the RTP header): every
 * implementation of [mode] the library can use, plus for AES-GCM the JDK's `AES/GCM/NoPadding` re-initialised per
 * packet (what a straightforward JCE receiver does, JDA's Tink adapter included). Each is checked on every datagram
 * before it is measured.
 */
internal fun bareCipherCases(mode: EncryptionMode, label: String, datagrams: Array<ByteArray>, speech: List<ByteArray>, speakers: Int): List<PeerCaseRef> {
    val key = FakeSpeaker.key(7)
    val impls = cipherFactories(mode).map { (name, factory) -> name to factory(key) }.toMutableList<Pair<String, Any>>()
    if (mode == EncryptionMode.AEAD_AES256_GCM_RTPSIZE) impls.add(0, "JDK Cipher AES/GCM re-initialised per packet" to JceGcmPerPacket(key))
    val buffer = ByteArray(4096)
    fun decryptOne(impl: Any, d: ByteArray): Int {
        System.arraycopy(d, 0, buffer, 0, d.size)
        val aad = RtpsizeLayout.rtpAadLength(buffer, 0, d.size)
        return when (impl) {
            is TransportCipher -> impl.decrypt(buffer, 0, d.size, aad)
            is JceGcmPerPacket -> impl.decrypt(buffer, d.size, aad)
            else -> error("unknown $impl")
        }
    }
    return impls.map { (name, impl) ->
        for (i in datagrams.indices) {
            val n = decryptOne(impl, datagrams[i])
            val expected = speech[(i / speakers) % speech.size]
            val aad = RtpsizeLayout.rtpAadLength(datagrams[i], 0, datagrams[i].size)
            // The decrypted payload is the extension body (one word here), then the Opus packet.
            check(n == expected.size + 4 && buffer.copyOfRange(aad + 4, aad + n).contentEquals(expected)) { "$name: datagram $i decrypted wrong" }
        }
        PeerCaseRef("bare $label decrypt loop: ${if (impl is TransportCipher) "$name ($impl)" else name}, same datagrams", "packets/s", datagrams.size) {
            var sum = 0L
            for (d in datagrams) sum += decryptOne(impl, d)
            peerSink += sum
        }
    }
}
