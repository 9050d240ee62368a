package dev.earshot.samples.java;

import dev.earshot.voice.connection.VoiceConnectionConfig;
import dev.earshot.voice.connection.VoiceSessionInfo;
import dev.earshot.voice.javaapi.ChannelEvent;
import dev.earshot.voice.javaapi.EarshotVoice;
import dev.earshot.voice.javaapi.JavaVoiceConnection;
import dev.earshot.voice.javaapi.Sinks;
import dev.earshot.voice.javaapi.Subscription;
import dev.earshot.voice.javaapi.VoiceListener;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;

/**
 * A plain Java program that records a voice channel using only {@code voice-java-api}: per-user WAV files, the mixed
 * WAV and per-user Ogg Opus, with speaking and membership printed as they happen.
 *
 * <p>It takes the session a gateway library gives a bot when it joins a channel (VOICE_STATE_UPDATE's session id,
 * VOICE_SERVER_UPDATE's token and endpoint) from the environment: {@code EARSHOT_GUILD}, {@code EARSHOT_CHANNEL},
 * {@code EARSHOT_USER}, {@code EARSHOT_SESSION}, {@code EARSHOT_VOICE_TOKEN}, {@code EARSHOT_ENDPOINT}, and optionally
 * {@code EARSHOT_SECONDS} (default 30) and {@code EARSHOT_OUT} (default {@code java-recording}). The samples' specs run
 * it against the embedded voice server.
 */
public final class JavaRecorder {
    private JavaRecorder() {}

    public static void main(String[] args) throws Exception {
        Map<String, String> env = System.getenv();
        VoiceSessionInfo session = new VoiceSessionInfo(
                Long.parseLong(require(env, "EARSHOT_GUILD")),
                Long.parseLong(require(env, "EARSHOT_CHANNEL")),
                Long.parseLong(require(env, "EARSHOT_USER")),
                require(env, "EARSHOT_SESSION"),
                require(env, "EARSHOT_VOICE_TOKEN"),
                require(env, "EARSHOT_ENDPOINT"));
        Duration length = Duration.ofSeconds(Long.parseLong(env.getOrDefault("EARSHOT_SECONDS", "30")));
        Path out = Path.of(env.getOrDefault("EARSHOT_OUT", "java-recording"));
        @Nullable Throwable cause = record(session, VoiceConnectionConfig.DEFAULT, out, length);
        System.exit(cause == null ? 0 : 1);
    }

    /**
     * Connects with {@code session}, records into {@code out} for {@code length} (or until the connection ends) and
     * disconnects, finishing the files. Returns why the connection ended early, or null.
     */
    public static @Nullable Throwable record(VoiceSessionInfo session, VoiceConnectionConfig config, Path out, Duration length) throws Exception {
        Files.createDirectories(out);
        // Callbacks run here, never on Earshot's own threads, one at a time and in order.
        ExecutorService callbacks = Executors.newSingleThreadExecutor(r -> new Thread(r, "recorder-callbacks"));
        try (JavaVoiceConnection voice = EarshotVoice.connect(session, config).get(30, TimeUnit.SECONDS)) {
            System.out.println("connected: transport " + voice.encryptionMode()
                    + ", DAVE privacy code " + voice.davePrivacyCode());
            voice.listen(Sinks.tee(
                    Sinks.perUserWav(out),
                    Sinks.mixedWav(out.resolve("mixed.wav")),
                    Sinks.perUserOgg(out)));
            Subscription printing = voice.addListener(new VoiceListener() {
                @Override public void onSpeakingStart(ChannelEvent.SpeakingStarted event) {
                    System.out.println(event.userId() + " started talking at " + event.time());
                }
                @Override public void onSpeakingStop(ChannelEvent.SpeakingStopped event) {
                    System.out.println(event.userId() + " stopped talking at " + event.time());
                }
                @Override public void onMemberJoin(long userId) {
                    System.out.println(userId + " joined");
                }
                @Override public void onMemberLeave(long userId) {
                    System.out.println(userId + " left");
                }
            }, callbacks);
            @Nullable Throwable early = null;
            try {
                voice.closed().get(length.toMillis(), TimeUnit.MILLISECONDS);
                System.out.println("the connection ended");
            } catch (ExecutionException ended) {
                early = ended.getCause();
                System.out.println("the connection ended: " + early);
            } catch (TimeoutException recordedLongEnough) {
                // The normal case: time is up.
            }
            printing.close();
            System.out.println("received: " + voice.stats());
            return early;
        } finally {
            // Closing the connection (end of the try) finished the files; then the callback thread goes.
            callbacks.shutdown();
            System.out.println("files in " + out.toAbsolutePath());
        }
    }

    private static String require(Map<String, String> env, String name) {
        String value = env.get(name);
        if (value == null || value.isBlank()) throw new IllegalArgumentException("set " + name);
        return value;
    }
}
