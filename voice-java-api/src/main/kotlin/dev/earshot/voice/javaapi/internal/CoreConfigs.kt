@file:JvmName("CoreConfigs")

package dev.earshot.voice.javaapi.internal

import dev.earshot.voice.jitter.PlayoutDelay
import dev.earshot.voice.ReceiveConfig
import dev.earshot.voice.codec.ConcentusDecoderFactory
import dev.earshot.voice.codec.OpusDecoders
import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.connection.VoiceConnectionConfig
import dev.earshot.voice.javaapi.AudioFormat
import dev.earshot.voice.javaapi.VoiceConfig
import kotlin.time.toKotlinDuration

// Maps the Java settings onto voice-core's builders, which validate them.

/** voice-core's connection settings for [c]. */
internal fun connectionConfig(c: VoiceConfig): VoiceConnectionConfig = VoiceConnectionConfig {
    receive = ReceiveConfig {
        decode = pcmFormat(c.decode())
        decoderFactory = if (c.nativeOpus()) OpusDecoders.nativeOrConcentus() else ConcentusDecoderFactory
        playout = if (c.adaptivePlayout()) {
            PlayoutDelay.Adaptive(
                min = c.minPlayoutDelay().toKotlinDuration(),
                max = c.maxPlayoutDelay().toKotlinDuration(),
                initial = c.playoutDelay().toKotlinDuration(),
            )
        } else {
            PlayoutDelay.Fixed(c.playoutDelay().toKotlinDuration())
        }
        maxConcealment = c.maxConcealment().toKotlinDuration()
        jitterCapacity = c.jitterCapacity()
        maxSsrcs = c.maxSsrcs()
        speakingHang = c.speakingHang().toKotlinDuration()
        tickQueueCapacity = c.tickQueueCapacity()
    }
    secure = c.secure()
    trustManager = c.trustManager()
    maxDaveProtocolVersion = c.maxDaveProtocolVersion()
    handshakeTimeout = c.handshakeTimeout().toKotlinDuration()
    ipDiscoveryTimeout = c.ipDiscoveryTimeout().toKotlinDuration()
    ipDiscoveryAttempts = c.ipDiscoveryAttempts()
    udpKeepaliveInterval = c.udpKeepaliveInterval().toKotlinDuration()
    missedHeartbeatAcks = c.missedHeartbeatAcks()
    reconnectDelay = c.reconnectDelay().toKotlinDuration()
    reconnectDelayMax = c.reconnectDelayMax().toKotlinDuration()
    maxReconnectAttempts = c.maxReconnectAttempts()
    moveGrace = c.moveGrace().toKotlinDuration()
    healthyAfter = c.healthyAfter().toKotlinDuration()
}.also { require(!c.closeTimeout().isNegative) { "closeTimeout must not be negative" } }

/** voice-core's PCM format for [f]; null for Opus only. */
internal fun pcmFormat(f: AudioFormat): PcmFormat? = when (f) {
    AudioFormat.STEREO_48K -> PcmFormat.STEREO_48K
    AudioFormat.MONO_16K -> PcmFormat.MONO_16K
    AudioFormat.OPUS_ONLY -> null
}
