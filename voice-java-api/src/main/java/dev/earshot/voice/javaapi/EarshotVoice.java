package dev.earshot.voice.javaapi;

import dev.earshot.voice.connection.VoiceSessionInfo;
import dev.earshot.voice.javaapi.internal.ConnectionRuntime;

import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * The entry point of Earshot for Java: connects to a Discord voice server with the session details your gateway
 * library received (VOICE_STATE_UPDATE and VOICE_SERVER_UPDATE).
 *
 * <pre>{@code
 * JavaVoiceConnection c = EarshotVoice.connect(info, VoiceConfig.DEFAULT).get(15, TimeUnit.SECONDS);
 * }</pre>
 */
public final class EarshotVoice {
    private EarshotVoice() {
    }

    /** {@link #connect(SessionInfo, VoiceConfig)} with {@link VoiceConfig#DEFAULT}. */
    public static CompletableFuture<JavaVoiceConnection> connect(SessionInfo info) {
        return connect(info, VoiceConfig.DEFAULT);
    }

    /**
     * Connects and completes once audio can flow (the first Session Description). Completes exceptionally with the
     * typed cause: {@code DaveRequiredException} (close code 4017), {@code VoiceGatewayClosedException},
     * {@code NoSupportedEncryptionModeException}, {@code VoiceReconnectFailedException} (after
     * {@link VoiceConfig#maxReconnectAttempts()} failed attempts, e.g. a refused socket), all in
     * {@code dev.earshot.voice.connection}. Cancelling the future abandons the attempt: the socket is closed and
     * everything released.
     */
    public static CompletableFuture<JavaVoiceConnection> connect(SessionInfo info, VoiceConfig config) {
        Objects.requireNonNull(info, "info");
        Objects.requireNonNull(config, "config");
        VoiceSessionInfo coreInfo = new VoiceSessionInfo(
                info.guildId(), info.channelId(), info.userId(), info.sessionId(), info.token(), info.endpoint());
        CompletableFuture<ConnectionRuntime> attempt = ConnectionRuntime.connect(coreInfo, config.core());
        CompletableFuture<JavaVoiceConnection> result = new CompletableFuture<>();
        attempt.whenComplete((runtime, error) -> {
            if (error != null) {
                result.completeExceptionally(error);
            } else if (!result.complete(new JavaVoiceConnection(runtime, config))) {
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
