package dev.earshot.releasecheck;

import dev.earshot.voice.connection.VoiceConnectionConfig;
import dev.earshot.voice.connection.VoiceSessionInfo;
import dev.earshot.voice.javaapi.ChannelEvent;
import dev.earshot.voice.javaapi.EarshotVoice;
import dev.earshot.voice.javaapi.JavaVoiceConnection;
import dev.earshot.voice.javaapi.Sinks;
import dev.earshot.voice.javaapi.VoiceListener;
import dev.earshot.voice.testkit.MemberScript;
import dev.earshot.voice.testkit.ScriptedMember;
import dev.earshot.voice.testkit.TestServerConfig;
import dev.earshot.voice.testkit.VoiceGrant;
import dev.earshot.voice.testkit.VoiceTestServer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;

/**
 * What a Java user writes with voice-java-api and voice-testkit, in Java only: start the embedded voice server
 * (plain ws://, DAVE offered), connect to it with its grant, record the mix to a WAV while a member speaks (2.5 s),
 * disconnect. Prints the WAV's length and size and exits with 1 if the recording is not what it should be.
 */
public final class JavaConsumer {
    static final long GUILD = 100;
    static final long CHANNEL = 200;
    static final long BOT = 999;
    static final long SPEAKER = 1001;

    private JavaConsumer() {}

    public static void main(String[] args) throws Exception {
        Path out = Path.of(args.length > 0 ? args[0] : "recording");
        Files.createDirectories(out);
        Path wav = out.resolve("mixed.wav");
        try (VoiceTestServer server = VoiceTestServer.start(TestServerConfig.builder().build())) {
            // What VOICE_STATE_UPDATE and VOICE_SERVER_UPDATE would give the bot.
            VoiceGrant grant = server.grant(Long.toString(GUILD), Long.toString(CHANNEL), Long.toString(BOT));
            VoiceSessionInfo session = new VoiceSessionInfo(GUILD, CHANNEL, BOT,
                    grant.getSessionId(), grant.getToken(), grant.getEndpoint());
            // The embedded server speaks plain ws://, so secure(false).
            VoiceConnectionConfig config = VoiceConnectionConfig.builder().secure(false).build();
            ExecutorService callbacks = Executors.newSingleThreadExecutor();
            try (JavaVoiceConnection voice = EarshotVoice.connect(session, config).get(30, TimeUnit.SECONDS)) {
                System.out.println("connected: transport " + voice.encryptionMode() + ", DAVE privacy code " + voice.davePrivacyCode());
                AtomicReference<CompletableFuture<Long>> nextStop = new AtomicReference<>(new CompletableFuture<>());
                voice.addListener(new VoiceListener() {
                    @Override public void onSpeakingStop(ChannelEvent.SpeakingStopped event) {
                        nextStop.get().complete(event.userId());
                    }
                }, callbacks);
                voice.listen(Sinks.mixedWav(wav));
                // The member starts once the recording listens and talks for 2.5 s. When it has sent everything, the
                // recording waits for its last frames to play out (the speaking stop after them), 2 s at most.
                MemberScript tone = MemberScript.builder().awaitDave().tone(440.0, Duration.ofMillis(2500)).build();
                ScriptedMember speaker = server.channel(Long.toString(GUILD), Long.toString(CHANNEL))
                        .addMember(Long.toString(SPEAKER), tone);
                speaker.awaitFinished(Duration.ofSeconds(30));
                CompletableFuture<Long> after = new CompletableFuture<>();
                nextStop.set(after);
                try {
                    System.out.println("user " + after.get(2, TimeUnit.SECONDS) + " stopped talking");
                } catch (TimeoutException stoppedBefore) {
                    System.out.println("the speaker had stopped before its script ended");
                }
                System.out.println("received: " + voice.stats());
            } finally {
                callbacks.shutdown();
            }
        }
        System.exit(report(wav) ? 0 : 1);
    }

    /** Prints the WAV's duration, size and loud share; true if it is finished and holds most of the 2.5 s tone. */
    static boolean report(Path wav) throws Exception {
        byte[] bytes = Files.readAllBytes(wav);
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int channels = b.getShort(22);
        int rate = b.getInt(24);
        long data = b.getInt(40) & 0xFFFFFFFFL;
        double seconds = data / (rate * channels * 2.0);
        long loud = 0;
        for (int i = 44; i + 1 < bytes.length; i += 2) if (Math.abs(b.getShort(i)) > 1000) loud++;
        double loudSeconds = loud / (rate * (double) channels);
        System.out.printf("recorded %s: %.2f s, %d bytes, %d Hz, %d channels, %.2f s of it loud%n",
                wav, seconds, bytes.length, rate, channels, loudSeconds);
        boolean ok = data == bytes.length - 44L && seconds >= 2.0 && loudSeconds >= 1.5;
        if (!ok) System.out.println("FAIL: expected a finished WAV of at least 2 s with at least 1.5 s of the tone");
        return ok;
    }
}
