package dev.earshot.voice.transcribe;

import dev.earshot.voice.javaapi.ApiChecker;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every public signature of {@code dev.earshot.voice.transcribe} a Java user meets is free of Kotlin types (function
 * types, {@code Flow}, {@code Continuation}, {@code kotlin.time.Duration}), Kotlin-mangled names and {@code Companion}
 * members without a static twin, as voice-java-api's {@link ApiChecker} checks. {@link TranscriptionSink} is
 * Kotlin-only by design (a voice-core {@code AudioSink} taking Kotlin function types; Java listens through
 * voice-java-api's {@code Sinks.speechSegments} and {@link Transcription#utteranceListener()}), and is the checker's
 * negative case.
 */
class TranscribePublicApiTest {
    // Any Earshot type may appear: the module's own, the Java face's and voice-core's value types.
    private static final ApiChecker CHECKER = new ApiChecker(c -> true);
    private static final List<Class<?>> KOTLIN_ONLY = List.of(TranscriptionSink.class);

    @Test
    void everyJavaFacingSignatureIsJavaClean() throws Exception {
        Path dir = Path.of(Transcription.class.getProtectionDomain().getCodeSource().getLocation().toURI()).resolve("dev/earshot/voice/transcribe");
        List<Class<?>> classes = ApiChecker.classesIn(dir, "dev.earshot.voice.transcribe");
        for (Class<?> c : List.of(Transcription.class, Transcriber.class, SpeechClip.class, Recognition.class, RecognizedWord.class,
                Transcript.class, TimedWord.class, TranscriptListener.class, TranscriptSubscription.class, TranscriptionStats.class,
                TranscriptFiles.class, PocketSphinxTranscriber.class, PocketSphinxNotInstalledException.class)) {
            assertTrue(classes.contains(c) && ApiChecker.isApi(c), c::getName); // the scan sees the API, or it proves nothing
        }
        List<String> bad = CHECKER.check(classes.stream().filter(c -> !KOTLIN_ONLY.contains(c)).toList());
        assertEquals(List.of(), bad, () -> String.join("\n", bad));
    }

    @Test
    void theCheckerFindsKotlinTypesInTheKotlinOnlySink() {
        List<String> bad = CHECKER.check(KOTLIN_ONLY);
        assertTrue(bad.stream().anyMatch(s -> s.contains("kotlin.coroutines.Continuation")), () -> String.join("\n", bad));
        assertFalse(ApiChecker.isApi(Transcription.Done.class)); // Kotlin-internal, public in bytecode
    }
}
