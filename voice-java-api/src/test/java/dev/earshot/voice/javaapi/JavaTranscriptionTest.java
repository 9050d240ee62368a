package dev.earshot.voice.javaapi;

import dev.earshot.voice.testkit.ScriptedMember;
import dev.earshot.voice.testkit.SentFrame;
import dev.earshot.voice.testkit.VoiceTestServer;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static dev.earshot.voice.javaapi.TestSupport.WAIT_SECONDS;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The API a transcription bot uses, against the testkit's voice server: utterances and frames carry the speaker's
 * user, RTP timestamp, ticks and wall-clock times, checked against what the scripted member sent.
 */
class JavaTranscriptionTest {
    private static final String THREAD = "java-transcripts";

    @Test
    void utterancesCarryTheSpeakersUserRtpTimestampAndWallClockTimes() throws Exception {
        VoiceTestServer server = JavaTestKit.startServer(false);
        ExecutorService executor = TestSupport.namedExecutor(THREAD);
        try (JavaVoiceConnection c = EarshotVoice.connect(JavaTestKit.sessionInfo(server), TestSupport.testConfig().build())
                .get(WAIT_SECONDS, TimeUnit.SECONDS)) {
            List<Utterance> utterances = new CopyOnWriteArrayList<>();
            CountDownLatch two = new CountDownLatch(2);
            List<ChannelEvent.SpeakingStarted> starts = new CopyOnWriteArrayList<>();
            List<VoiceFrame> frames = new CopyOnWriteArrayList<>();
            c.addListener(new VoiceListener() {
                @Override
                public void onSpeakingStart(ChannelEvent.SpeakingStarted event) {
                    if (event.userId() == 1L) starts.add(event);
                }
            }, executor);
            c.subscribeUser(1, frames::add, executor);
            // A pause of 400 ms between the two spurts: longer than the 300 ms that ends an utterance here.
            SegmenterSettings settings = SegmenterSettings.DEFAULT.withEndSilence(Duration.ofMillis(300)).withMinSpeech(Duration.ofMillis(100));
            ActiveSink segments = c.listen(Sinks.speechSegments(settings, u -> {
                utterances.add(u);
                two.countDown();
            }, executor));

            ScriptedMember member = JavaTestKit.toneMember(server, 1, 440, 800, 2);
            assertTrue(two.await(WAIT_SECONDS, TimeUnit.SECONDS), "two utterances: " + utterances);
            List<SentFrame> sent = member.getSent();
            List<SentFrame> spurtStarts = sent.stream().filter(SentFrame::getMarker).toList();
            assertEquals(2, spurtStarts.size(), "the member sent two talk spurts");
            VoiceTimeline timeline = c.timeline();

            for (int i = 0; i < 2; i++) {
                Utterance u = utterances.get(i);
                SentFrame first = spurtStarts.get(i);
                assertEquals(1L, u.userId());
                assertEquals(member.getSsrc(), u.ssrc());
                // The RTP timestamp the member stamped on the spurt's first frame, exactly.
                assertEquals(first.getTimestamp(), u.rtpTimestamp(), "utterance " + i);
                // 800 ms of tone (40 ticks), plus at most the spurt's 5 silence frames and 3 ticks of concealment.
                assertTrue(u.ticks() >= 40 && u.ticks() <= 48, "ticks: " + u.ticks());
                assertEquals(u.ticks() * 320, u.pcm().length);
                // Wall-clock times: the tick's start on the connection's timeline, the end one tick after the last.
                assertEquals(timeline.instantOf(u.startTick()), u.start());
                assertEquals(u.start().plus(u.duration()), u.end());
                assertEquals(timeline.instantOf(u.endTick() + 1), u.end());
                // Played no earlier than it was sent (the clocks agree to the millisecond, sent times are truncated to
                // it), and within the playout delay plus a loaded machine's scheduling.
                Instant sentAt = Instant.ofEpochMilli(first.getSentAtEpochMillis());
                assertTrue(!u.start().isBefore(sentAt.minusMillis(2)), "start " + u.start() + " before it was sent, " + sentAt);
                assertTrue(u.start().isBefore(sentAt.plusSeconds(3)), "start " + u.start() + " long after " + sentAt);
                assertTrue(loud(u.pcm()) > 1000, "the tone is in the PCM");
                assertArrayEquals(Pcm.toLittleEndian(u.pcm()), u.pcmLittleEndian());
                assertEquals(u.pcm().length, u.pcmFloats().length);
            }
            assertTrue(utterances.get(1).startTick() > utterances.get(0).endTick());

            // The timeline maps the member's RTP timestamps back to ticks and instants (by the latest spurt's anchor).
            Utterance last = utterances.get(1);
            assertEquals(last.startTick(), timeline.tickOfRtpTimestamp(member.getSsrc(), last.rtpTimestamp()).orElseThrow());
            assertEquals(last.rtpTimestamp(), timeline.rtpTimestampAt(member.getSsrc(), last.startTick()).orElseThrow());
            assertEquals(last.start(), timeline.instantOfRtpTimestamp(member.getSsrc(), last.rtpTimestamp()).orElseThrow());
            assertEquals(last.start().plusMillis(10),
                    timeline.instantOfRtpTimestamp(member.getSsrc(), last.rtpTimestamp() + 480).orElseThrow(), "to the sample");
            assertTrue(timeline.rtpTimestampAt(999_999, 0).isEmpty(), "an SSRC never heard");
            assertEquals(last.startTick(), timeline.tickAt(last.start()));

            // The speaking start carries the tick and time at which the first utterance starts.
            assertTrue(TestSupport.eventually(() -> starts.size() >= 2), "speaking starts: " + starts);
            assertEquals(utterances.get(0).startTick(), starts.get(0).tick());
            assertEquals(utterances.get(0).start(), starts.get(0).time());

            // Frames: the member's timestamps, 20 ms of wall clock each, on the same timeline.
            Set<Long> sentTimestamps = sent.stream().map(SentFrame::getTimestamp).collect(Collectors.toSet());
            assertTrue(frames.size() >= 80, "frames: " + frames.size());
            assertEquals(spurtStarts.get(0).getTimestamp(), frames.get(0).rtpTimestamp());
            for (VoiceFrame f : frames) {
                assertEquals(1L, f.userId());
                assertEquals(Duration.ofMillis(20), Duration.between(f.start(), f.end()));
                assertEquals(timeline.instantOf(f.tick()), f.start());
                if (f.kind() == VoiceFrame.Kind.DECODED) assertTrue(sentTimestamps.contains(f.rtpTimestamp()), f::toString);
            }

            // Per-speaker playout figures.
            List<SpeakerStatistics> stats = c.speakerStats().get(WAIT_SECONDS, TimeUnit.SECONDS);
            SpeakerStatistics mine = stats.stream().filter(s -> s.ssrc() == member.getSsrc()).findFirst().orElseThrow();
            assertEquals(1L, mine.userId());
            assertTrue(mine.received() >= 80, mine::toString);
            assertTrue(!mine.playoutDelay().isNegative() && mine.playoutDelay().compareTo(Duration.ofMillis(520)) <= 0, mine::toString);

            segments.stop().get(WAIT_SECONDS, TimeUnit.SECONDS);
            segments.finished().get(WAIT_SECONDS, TimeUnit.SECONDS);
        } finally {
            executor.shutdownNow();
            server.close();
        }
    }

    @Test
    void aMono16kConnectionFeedsTheSegmenterDirectlyAndTheFramesCarryLittleEndianBytes() throws Exception {
        VoiceTestServer server = JavaTestKit.startServer(false);
        ExecutorService executor = TestSupport.namedExecutor(THREAD);
        try (JavaVoiceConnection c = EarshotVoice.connect(JavaTestKit.sessionInfo(server),
                TestSupport.testConfig(dev.earshot.voice.ReceiveConfig.builder().decode(dev.earshot.voice.codec.PcmFormat.MONO_16K)).build())
                .get(WAIT_SECONDS, TimeUnit.SECONDS)) {
            List<Utterance> utterances = new CopyOnWriteArrayList<>();
            CountDownLatch one = new CountDownLatch(1);
            List<VoiceFrame> frames = new CopyOnWriteArrayList<>();
            c.subscribeUser(3, frames::add, executor);
            c.listen(Sinks.speechSegments(u -> {
                utterances.add(u);
                one.countDown();
            }, executor));
            ScriptedMember member = JavaTestKit.toneMember(server, 3, 300, 600, 1);
            assertTrue(one.await(WAIT_SECONDS, TimeUnit.SECONDS), "an utterance");
            Utterance u = utterances.get(0);
            assertEquals(3L, u.userId());
            assertEquals(member.getSent().get(0).getTimestamp(), u.rtpTimestamp());
            assertTrue(u.ticks() >= 30, "600 ms of tone: " + u.ticks());
            VoiceFrame f = frames.get(0);
            assertEquals(dev.earshot.voice.codec.PcmFormat.MONO_16K, f.format());
            short[] pcm = f.pcm();
            byte[] le = f.pcmLittleEndian();
            assertEquals(320, pcm.length);
            for (int i = 0; i < pcm.length; i++) assertEquals(pcm[i], (short) ((le[2 * i] & 0xff) | (le[2 * i + 1] << 8)));
            float[] floats = f.pcmFloats();
            for (int i = 0; i < pcm.length; i++) assertEquals(pcm[i] / 32768f, floats[i]);
        } finally {
            executor.shutdownNow();
            server.close();
        }
    }

    private static int loud(short[] pcm) {
        int n = 0;
        for (short s : pcm) if (Math.abs(s) > 1000) n++;
        return n;
    }
}
