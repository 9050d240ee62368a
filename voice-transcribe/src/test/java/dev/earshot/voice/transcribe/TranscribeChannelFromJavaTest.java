package dev.earshot.voice.transcribe;

import dev.earshot.voice.ReceiveConfig;
import dev.earshot.voice.codec.PcmFormat;
import dev.earshot.voice.connection.VoiceConnectionConfig;
import dev.earshot.voice.connection.VoiceSessionInfo;
import dev.earshot.voice.javaapi.EarshotVoice;
import dev.earshot.voice.javaapi.JavaVoiceConnection;
import dev.earshot.voice.testkit.MemberScript;
import dev.earshot.voice.testkit.ScriptedMember;
import dev.earshot.voice.testkit.TestServerConfig;
import dev.earshot.voice.testkit.VoiceGrant;
import dev.earshot.voice.testkit.VoiceTestServer;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A Java bot transcribes a channel with the ordered sink ({@code Transcription.sink}): two members speak, the later
 * one's speech is transcribed first (the engine holds the first until the second is done), and the listener and the files still get them in
 * the order they were spoken.
 */
class TranscribeChannelFromJavaTest {
    private static final long WAIT_SECONDS = 30;

    @Test
    void aJavaBotGetsTranscriptsAndFilesInSpokenOrderFromTheSink() throws Exception {
        // A Java engine: names the speaker; the first speaker's utterance finishes only after the second one's has.
        CountDownLatch secondDone = new CountDownLatch(1);
        Transcriber engine = clip -> {
            if (clip.getUserId() == 4 && !secondDone.await(WAIT_SECONDS, TimeUnit.SECONDS)) throw new IllegalStateException("no second utterance");
            if (clip.getUserId() == 5) secondDone.countDown();
            return new Recognition("speaker " + clip.getUserId());
        };
        Path dir = Files.createTempDirectory("earshot-java-sink");
        ExecutorService callbacks = Executors.newSingleThreadExecutor();
        List<Transcript> heard = new CopyOnWriteArrayList<>();
        VoiceConnectionConfig config = VoiceConnectionConfig.builder().secure(false).maxDaveProtocolVersion(0)
                .receive(ReceiveConfig.builder().decode(PcmFormat.STEREO_48K).tickQueueCapacity(3000).build()).build();
        try (VoiceTestServer server = VoiceTestServer.start(TestServerConfig.builder().daveProtocolVersion(0).seed(3L).build());
             Transcription transcription = new Transcription(engine, 2, 8)) {
            VoiceGrant grant = server.grant("111", "222", "999");
            VoiceSessionInfo info = new VoiceSessionInfo(111, 222L, 999, grant.getSessionId(), grant.getToken(), grant.getEndpoint());
            try (JavaVoiceConnection bot = EarshotVoice.connect(info, config).get(WAIT_SECONDS, TimeUnit.SECONDS)) {
                bot.listen(transcription.sink(dir, heard::add, callbacks));
                ScriptedMember first = server.channel("111", "222").addMember("4",
                        MemberScript.builder().tone(300, Duration.ofMillis(800)).pause(Duration.ofSeconds(2)).leave().build());
                ScriptedMember second = server.channel("111", "222").addMember("5",
                        MemberScript.builder().pause(Duration.ofMillis(1200)).tone(500, Duration.ofMillis(800)).pause(Duration.ofSeconds(1)).leave().build());
                first.awaitFinished(Duration.ofSeconds(WAIT_SECONDS));
                second.awaitFinished(Duration.ofSeconds(WAIT_SECONDS));
                bot.stopListening().get(WAIT_SECONDS, TimeUnit.SECONDS); // the sink drains and closes its files
            }
            callbacks.submit(() -> { }).get(WAIT_SECONDS, TimeUnit.SECONDS); // the listener calls queued before it ran
            assertEquals(0, secondDone.getCount(), "the second speaker's utterance was transcribed first");
            assertEquals(List.of("speaker 4", "speaker 5"), heard.stream().map(Transcript::getText).toList());
            assertTrue(heard.get(0).getStart().isBefore(heard.get(1).getStart()));
            String vtt = Files.readString(dir.resolve(TranscriptFiles.MERGED_VTT));
            assertTrue(vtt.indexOf("speaker 4") < vtt.indexOf("speaker 5") && vtt.indexOf("speaker 4") > 0, vtt);
        } finally {
            callbacks.shutdownNow();
        }
    }
}
