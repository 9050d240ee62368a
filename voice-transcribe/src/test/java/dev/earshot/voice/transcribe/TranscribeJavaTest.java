package dev.earshot.voice.transcribe;

import dev.earshot.voice.javaapi.Utterance;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The transcription API as a Java user meets it: an engine as a lambda, futures, listeners on an executor, files. */
class TranscribeJavaTest {
    private static final Instant T0 = Instant.parse("2026-12-06T10:00:00Z");

    private static Utterance utterance(long user, long startTick) {
        return new Utterance(user, 100 + user, startTick, startTick + 49, T0.plusMillis(startTick * 20),
                T0.plusMillis((startTick + 50) * 20), 4242, new short[50 * 320]);
    }

    @Test
    void anEngineWrittenInJavaTranscribesUtterancesIntoFuturesAndListeners() throws Exception {
        // A Java engine: one word spanning the clip, with a confidence.
        Transcriber engine = clip -> new Recognition("user " + clip.getUserId(),
                List.of(new RecognizedWord("user", Duration.ZERO, clip.getDuration(), 0.75)));
        ExecutorService callbacks = Executors.newSingleThreadExecutor();
        LinkedBlockingQueue<Transcript> heard = new LinkedBlockingQueue<>();
        try (Transcription transcription = new Transcription(engine, 2, 8)) {
            TranscriptSubscription subscription = transcription.addListener(heard::add, callbacks);
            Transcript t = transcription.submit(utterance(42, 10)).get(10, TimeUnit.SECONDS);
            assertEquals("user 42", t.getText());
            assertEquals(42, t.getUserId());
            assertEquals(T0.plusMillis(200), t.getStart());
            assertEquals(T0.plusMillis(1200), t.getEnd());
            assertEquals(4242, t.getRtpTimestamp());
            assertEquals(T0.plusMillis(1200), t.getWords().get(0).getEnd());
            assertEquals(0.75, t.getWords().get(0).getConfidence());
            assertEquals(t, heard.poll(10, TimeUnit.SECONDS));

            // The listener for voice-java-api's Sinks.speechSegments submits too.
            transcription.utteranceListener().onUtterance(utterance(7, 100));
            assertEquals("user 7", heard.poll(10, TimeUnit.SECONDS).getText());
            subscription.close();
            transcription.idle().get(10, TimeUnit.SECONDS);
            assertEquals(2, transcription.stats().getCompleted());
        } finally {
            callbacks.shutdownNow();
        }
    }

    @Test
    void aSaturatedEngineDropsTheOldestWaitingUtteranceWithATypedCause() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch busy = new CountDownLatch(1);
        Transcriber slow = clip -> {
            busy.countDown();
            release.await();
            return Recognition.EMPTY;
        };
        try (Transcription transcription = new Transcription(slow, 1, 1)) {
            CompletableFuture<Transcript> first = transcription.submit(utterance(1, 0));
            assertTrue(busy.await(10, TimeUnit.SECONDS));
            CompletableFuture<Transcript> second = transcription.submit(utterance(1, 100));
            CompletableFuture<Transcript> third = transcription.submit(utterance(1, 200));
            ExecutionException e = assertThrows(ExecutionException.class, () -> second.get(5, TimeUnit.SECONDS));
            TranscriptionDroppedException dropped = assertInstanceOf(TranscriptionDroppedException.class, e.getCause());
            assertEquals(100, dropped.getClip().getStartTick());
            assertEquals(1, transcription.stats().getDropped());
            release.countDown();
            assertEquals("", first.get(10, TimeUnit.SECONDS).getText());
            assertEquals("", third.get(10, TimeUnit.SECONDS).getText());
        }
    }

    @Test
    void transcriptFilesFromJava() throws Exception {
        Path dir = Files.createTempDirectory("earshot-java-transcript");
        try (TranscriptFiles files = new TranscriptFiles(dir, T0, id -> "speaker " + id)) {
            files.write(new Transcript(0, 5, 105, 50, 99, T0.plusSeconds(1), T0.plusSeconds(2), -1, "hello", new ArrayList<>(), Duration.ZERO));
        }
        assertEquals("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v speaker 5>hello\n\n", Files.readString(dir.resolve(TranscriptFiles.MERGED_VTT)));
        assertEquals("1\n00:00:01,000 --> 00:00:02,000\nhello\n\n", Files.readString(dir.resolve("user-5.srt")));
    }

    @Test
    void aMissingEngineIsATypedErrorNamingTheDebianPackage() {
        PocketSphinxNotInstalledException e = assertThrows(PocketSphinxNotInstalledException.class,
                () -> PocketSphinxTranscriber.create(Path.of("/nonexistent-model"), Duration.ofSeconds(5)));
        assertTrue(e.getDebianPackage().startsWith("pocketsphinx"), e.getMessage());
    }
}
