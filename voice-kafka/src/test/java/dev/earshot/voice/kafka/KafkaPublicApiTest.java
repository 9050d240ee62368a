package dev.earshot.voice.kafka;

import dev.earshot.voice.javaapi.ApiChecker;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every public signature of {@code dev.earshot.voice.kafka} a Java user meets is free of Kotlin types (function types,
 * {@code Flow}, {@code Continuation}, {@code kotlin.time.Duration}), Kotlin-mangled names and {@code Companion} members
 * without a static twin, as voice-java-api's {@link ApiChecker} checks. {@link KafkaVoiceSink} is Kotlin-only by design
 * (a voice-core {@code AudioSink} with suspend functions, followed through a coroutine scope; Java gets it as a
 * {@code VoiceSink} from {@link VoiceKafkaPublisher#voiceSink}), and is the checker's negative case.
 */
class KafkaPublicApiTest {
    // Any Earshot type may appear: the Java face's and voice-core's value types (PcmFormat, WorkerSession's).
    private static final ApiChecker CHECKER = new ApiChecker(c -> true);
    private static final List<Class<?>> KOTLIN_ONLY = List.of(KafkaVoiceSink.class);

    @Test
    void everyJavaFacingSignatureIsJavaClean() throws Exception {
        Path dir = Path.of(VoiceKafkaPublisher.class.getProtectionDomain().getCodeSource().getLocation().toURI()).resolve("dev/earshot/voice/kafka");
        List<Class<?>> classes = ApiChecker.classesIn(dir, "dev.earshot.voice.kafka");
        for (Class<?> c : List.of(VoiceKafkaPublisher.class, KafkaPublisherConfig.class, KafkaPublisherConfig.Builder.class,
                PublisherStats.class, VoiceKafkaWorker.class, KafkaWorkerConfig.class, KafkaWorkerConfig.Builder.class,
                VoiceSinkFactory.class, SessionSinkFactory.class, WorkerListener.class, WorkerSession.class, WorkerStats.class,
                VoiceRecords.class)) {
            assertTrue(classes.contains(c) && ApiChecker.isApi(c), c::getName); // the scan sees the API, or it proves nothing
        }
        List<String> bad = CHECKER.check(classes.stream().filter(c -> !KOTLIN_ONLY.contains(c)).toList());
        assertEquals(List.of(), bad, () -> String.join("\n", bad));
    }

    @Test
    void theCheckerFindsKotlinTypesInTheKotlinOnlySink() {
        List<String> bad = CHECKER.check(KOTLIN_ONLY);
        String all = String.join("\n", bad);
        assertTrue(all.contains("kotlin.coroutines.Continuation"), all);
        assertTrue(all.contains("kotlinx.coroutines.CoroutineScope"), all);
    }
}
