package dev.earshot.voice.jda;

import java.util.Map;
import java.util.stream.Collectors;

/**
 * Disconnecting several guilds failed for some of them ({@link JdaVoice#close()}, {@link JdaVoice#disconnectAll()}):
 * every guild was tried, and {@link #failures()} holds each failed guild's cause (also attached as suppressed
 * exceptions). The connections themselves are closed even when their leave could not be sent.
 */
public final class JdaVoiceCloseException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final transient Map<Long, Throwable> failures;

    JdaVoiceCloseException(Map<Long, Throwable> failures) {
        super("disconnecting failed in " + failures.size() + " guild(s): " + failures.entrySet().stream()
                .map(e -> "guild " + Long.toUnsignedString(e.getKey()) + ": " + e.getValue())
                .collect(Collectors.joining("; ")));
        this.failures = Map.copyOf(failures);
        failures.values().forEach(this::addSuppressed);
    }

    /** Each guild id whose disconnect failed, with why. */
    public Map<Long, Throwable> failures() {
        return failures;
    }
}
