package dev.earshot.voice.javaapi;

import dev.earshot.voice.connection.VoiceConnectionConfig;
import dev.earshot.voice.connection.VoiceSessionInfo;
import dev.earshot.voice.javaapi.internal.ConnectionRuntime;

import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * The entry point of Earshot for Java: connects to a Discord voice server with the session details your gateway
 * library received (VOICE_STATE_UPDATE and VOICE_SERVER_UPDATE). Settings are voice-core's own
 * {@link VoiceConnectionConfig}, built the Java way:
 *
 * <pre>{@code
 * VoiceConnectionConfig config = VoiceConnectionConfig.builder()
 *         .receive(ReceiveConfig.builder().decode(PcmFormat.MONO_16K).build())
 *         .handshakeTimeout(Duration.ofSeconds(10))
 *         .build();
 * JavaVoiceConnection c = EarshotVoice.connect(
 *         new VoiceSessionInfo(guildId, channelId, botUserId, sessionId, token, endpoint), config)
 *     .get(30, TimeUnit.SECONDS);
 * }</pre>
 */
public final class EarshotVoice {
    private EarshotVoice() {
    }

    /** {@link #connect(VoiceSessionInfo, VoiceConnectionConfig)} with {@link VoiceConnectionConfig#DEFAULT}. */
    public static CompletableFuture<JavaVoiceConnection> connect(VoiceSessionInfo info) {
        return connect(info, VoiceConnectionConfig.DEFAULT);
    }

    /**
     * Connects. The future completes normally once audio can flow (the first Session Description), and exceptionally
     * with the typed cause otherwise: {@code DaveRequiredException} (close code 4017),
     * {@code VoiceGatewayClosedException}, {@code NoSupportedEncryptionModeException},
     * {@code VoiceReconnectFailedException} (after {@code maxReconnectAttempts} failed attempts, e.g. a refused
     * socket), all in {@code dev.earshot.voice.connection}, within the bound that {@code VoiceConnection.connect}
     * documents. Cancelling the future abandons the attempt: the socket is closed and everything released.
     */
    public static CompletableFuture<JavaVoiceConnection> connect(VoiceSessionInfo info, VoiceConnectionConfig config) {
        Objects.requireNonNull(info, "info");
        Objects.requireNonNull(config, "config");
        CompletableFuture<ConnectionRuntime> attempt = ConnectionRuntime.connect(info, config);
        CompletableFuture<JavaVoiceConnection> result = new CompletableFuture<>();
        attempt.whenComplete((runtime, error) -> {
            if (error != null) {
                result.completeExceptionally(error);
            } else if (!result.complete(new JavaVoiceConnection(runtime))) {
                // The caller gave up (cancelled) just as the connection came up: nobody owns it, so leave.
                runtime.disconnect();
            }
        });
        // Cancelling ours cancels the attempt (a dependent future would not).
        result.whenComplete((c, error) -> {
            if (result.isCancelled()) attempt.cancel(true);
        });
        return result;
    }
}
