package dev.earshot.voice.javaapi;

import dev.earshot.voice.codec.PcmFormat;
import dev.earshot.voice.testkit.ScriptedMember;
import dev.earshot.voice.testkit.VoiceTestServer;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.earshot.voice.javaapi.TestSupport.WAIT_SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Sinks from Java: a {@link JavaSink} on its executor, and the built-in recordings to files. */
class JavaSinkTest {
    private static final String THREAD = "java-sink";

    @Test
    void javaSinksRunOnTheirExecutorAndBuiltInSinksRecordFiles(@TempDir Path dir) throws Exception {
        VoiceTestServer server = JavaTestKit.startServer(false);
        ExecutorService executor = TestSupport.namedExecutor(THREAD);
        try {
            JavaVoiceConnection c = EarshotVoice.connect(JavaTestKit.sessionInfo(server), TestSupport.testConfig().build())
                    .get(WAIT_SECONDS, TimeUnit.SECONDS);
            List<String> wrongThreads = new CopyOnWriteArrayList<>();
            AtomicInteger written = new AtomicInteger();
            AtomicInteger cleanups = new AtomicInteger();
            CountDownLatch stopped = new CountDownLatch(1);
            ActiveSink mine = c.listen(Sinks.of(new JavaSink() {
                @Override
                public void write(VoiceFrame frame) {
                    if (!onSinkThread()) wrongThreads.add(Thread.currentThread().getName());
                    if (frame.userId() == 1L) written.incrementAndGet();
                }

                @Override
                public void onEvent(ChannelEvent event) {
                    if (!onSinkThread()) wrongThreads.add(Thread.currentThread().getName());
                    if (event instanceof ChannelEvent.SpeakingStopped s && s.userId() == 1L) stopped.countDown();
                }

                @Override
                public void cleanup() {
                    cleanups.incrementAndGet();
                }
            }, executor));
            ActiveSink failing = c.listen(Sinks.of(frame -> {
                throw new java.io.IOException("disk full (expected in this test)");
            }, executor));
            ActiveSink wav = c.listen(Sinks.perUserWav(dir.resolve("wav")));
            ActiveSink mixed = c.listen(Sinks.mixedWav(dir.resolve("mixed.wav")));
            ActiveSink ogg = c.listen(Sinks.perUserOgg(dir.resolve("ogg")));
            ActiveSink onlyTwo = c.listen(Sinks.onlyUsers(Sinks.perUserWav(dir.resolve("only2")), java.util.Set.of(2L)));

            ScriptedMember speaker = JavaTestKit.toneMember(server, 1, 440, 1000, 1);
            speaker.awaitFinished(Duration.ofSeconds(WAIT_SECONDS));
            assertTrue(stopped.await(WAIT_SECONDS, TimeUnit.SECONDS), "the speaker finished");
            // The second of tone has played out to the Java sink (its queue holds a second: nothing is dropped).
            assertTrue(TestSupport.eventually(() -> written.get() >= 45), "frames written: " + written.get());
            // The failing sink ended alone, its future failed with the sink's error.
            ExecutionException failed = assertThrows(ExecutionException.class, () -> failing.finished().get(WAIT_SECONDS, TimeUnit.SECONDS));
            assertInstanceOf(java.io.IOException.class, failed.getCause());
            assertTrue(mine.isActive() && wav.isActive(), "the others go on");
            c.disconnect().get(WAIT_SECONDS, TimeUnit.SECONDS);
            for (ActiveSink s : List.of(mine, wav, mixed, ogg, onlyTwo)) assertNull(s.finished().get(WAIT_SECONDS, TimeUnit.SECONDS));

            assertTrue(written.get() >= 45, "frames written: " + written.get());
            assertEquals(1, cleanups.get());
            assertEquals(List.of(), wrongThreads);

            byte[] user1 = Files.readAllBytes(dir.resolve("wav").resolve("user-1.wav"));
            assertEquals("RIFF", new String(user1, 0, 4, StandardCharsets.US_ASCII));
            // At least the second of tone, as 48 kHz stereo s16le after the 44-byte header.
            assertTrue(user1.length - 44 >= 48_000 * 4, "wav bytes: " + user1.length);
            byte[] mix = Files.readAllBytes(dir.resolve("mixed.wav"));
            assertEquals("RIFF", new String(mix, 0, 4, StandardCharsets.US_ASCII));
            // The mix of one speaker carries all of that speaker's audio (both tracks start at the first tick their own
            // sink saw, so their lengths may differ by the ticks between the two listen calls).
            assertTrue(mix.length - 44 >= 48_000 * 4, "mixed wav bytes: " + mix.length);
            assertTrue(loudSamples(mix) >= loudSamples(user1) * 9 / 10, "the mix holds the tone: " + loudSamples(mix) + " of " + loudSamples(user1));
            List<byte[]> packets = AudioFiles.readOggOpusPackets(dir.resolve("ogg").resolve("user-1.opus"));
            assertTrue(packets.stream().filter(p -> p.length > 3).count() >= 45, "ogg packets: " + packets.size());
            assertTrue(!Files.exists(dir.resolve("only2")) || Files.list(dir.resolve("only2")).findAny().isEmpty(), "user 1 filtered out");
        } finally {
            executor.shutdownNow();
            server.close();
        }
    }

    /** 16-bit samples of a WAV's data well away from zero. */
    private static int loudSamples(byte[] wav) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(wav).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        int loud = 0;
        for (int i = 44; i + 1 < wav.length; i += 2) if (Math.abs(b.getShort(i)) > 1000) loud++;
        return loud;
    }

    /** The executor's thread; with coroutine debugging on (assertions enabled) its name carries the coroutine's. */
    private static boolean onSinkThread() {
        String name = Thread.currentThread().getName();
        return name.equals(THREAD) || name.startsWith(THREAD + " @");
    }

    @Test
    void aWavFileWrittenFromJavaHasTheSamplesItWasGiven(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("t.wav");
        short[] pcm = new short[PcmFormat.MONO_16K.getSamplesPerFrame() * PcmFormat.MONO_16K.getChannels()];
        for (int i = 0; i < pcm.length; i++) pcm[i] = (short) (i * 50);
        try (PcmFile f = AudioFiles.wav(file, PcmFormat.MONO_16K)) {
            f.write(pcm);
            f.writeSilence(10);
            assertEquals(pcm.length + 10, f.samplesWritten());
        }
        byte[] bytes = Files.readAllBytes(file);
        assertEquals(44 + 2 * (pcm.length + 10), bytes.length);
        // Little-endian s16: the 3rd sample is 100.
        assertEquals(100, (bytes[44 + 4] & 0xff) | (bytes[44 + 5] << 8));
        assertTrue(Arrays.equals(new byte[20], Arrays.copyOfRange(bytes, bytes.length - 20, bytes.length)));
    }
}
