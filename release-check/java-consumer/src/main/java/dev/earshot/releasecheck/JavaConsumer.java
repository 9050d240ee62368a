package dev.earshot.releasecheck;

import dev.earshot.voice.javaapi.EarshotVoice;
import dev.earshot.voice.javaapi.JavaVoiceConnection;
import dev.earshot.voice.javaapi.SessionInfo;
import dev.earshot.voice.javaapi.Sinks;
import dev.earshot.voice.javaapi.VoiceConfig;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * What a Java user writes with voice-java-api: connect to the embedded voice server, record the mix to a WAV for
 * 3 s, disconnect. Prints the WAV's length and size and exits with 1 if the recording is not what it should be.
 */
public final class JavaConsumer {
    private JavaConsumer() {}

    public static void main(String[] args) throws Exception {
        Path out = Path.of(args.length > 0 ? args[0] : "recording");
        Files.createDirectories(out);
        Path wav = out.resolve("mixed.wav");
        try (EmbeddedServer server = EmbeddedServer.startWithToneSpeaker(1001, 2000)) {
            SessionInfo session = new SessionInfo(EmbeddedServer.GUILD, EmbeddedServer.CHANNEL, EmbeddedServer.BOT,
                    server.getSessionId(), server.getToken(), server.getEndpoint());
            // The embedded server speaks plain ws://, so secure(false).
            VoiceConfig config = VoiceConfig.builder().secure(false).build();
            try (JavaVoiceConnection voice = EarshotVoice.connect(session, config).get(30, TimeUnit.SECONDS)) {
                System.out.println("connected: transport " + voice.encryptionMode() + ", DAVE privacy code " + voice.davePrivacyCode());
                voice.listen(Sinks.mixedWav(wav));
                try {
                    Throwable early = voice.closed().get(3, TimeUnit.SECONDS);
                    throw new IllegalStateException("the connection ended early", early);
                } catch (TimeoutException recordedLongEnough) {
                    // The normal case: 3 s are up.
                }
                System.out.println("received: " + voice.stats());
            }
        }
        System.exit(report(wav) ? 0 : 1);
    }

    /** Prints the WAV's duration, size and loud share; true if it holds about 3 s with the tone in it. */
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
        boolean ok = data == bytes.length - 44L && seconds >= 2.0 && loudSeconds >= 1.0;
        if (!ok) System.out.println("FAIL: expected a finished WAV of at least 2 s with at least 1 s of the tone");
        return ok;
    }
}
