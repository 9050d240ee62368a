package dev.earshot.voice.jda;

import dev.earshot.voice.connection.VoiceConnectionConfig;
import dev.earshot.voice.javaapi.ApiChecker;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * voice-jda's public signatures are Java-only: no Kotlin type; of Earshot's only this package, the Java facade and the
 * connection settings, voice-core's {@code VoiceConnectionConfig}, which the facade takes directly (its Java face is
 * checked by voice-java-api's {@code PublicApiTest}).
 */
public class JdaPublicApiTest {
    private static final ApiChecker CHECKER = new ApiChecker(c ->
            c.getPackageName().equals("dev.earshot.voice.jda") || c.getPackageName().equals("dev.earshot.voice.javaapi")
                    || c == VoiceConnectionConfig.class);

    @Test
    void everyPublicSignatureIsFreeOfKotlinAndCoreTypes() throws Exception {
        Path dir = Path.of(JdaVoice.class.getProtectionDomain().getCodeSource().getLocation().toURI()).resolve("dev/earshot/voice/jda");
        List<Class<?>> classes = ApiChecker.classesIn(dir, "dev.earshot.voice.jda");
        // The scan must see the API, or it proves nothing.
        assertTrue(classes.contains(JdaVoice.class) && classes.contains(JdaVoice.Builder.class) && classes.contains(JdaVoiceConnection.class)
                && classes.contains(VoiceJoinTimeoutException.class) && classes.contains(JdaVoiceCloseException.class), classes::toString);
        List<String> bad = CHECKER.check(classes);
        assertEquals(List.of(), bad, () -> String.join("\n", bad));
    }

    @Test
    void theCheckerNamesKotlinAndCoreTypesInADeliberatelyBadClass() {
        List<String> bad = CHECKER.check(List.of(Leaky.class));
        String all = String.join("\n", bad);
        assertTrue(all.contains("Leaky.onEvent() parameter: kotlin.jvm.functions.Function1"), all);
        assertTrue(all.contains("Leaky.frames() returns: kotlinx.coroutines.flow.Flow"), all);
        assertTrue(all.contains("Leaky.frame() returns: dev.earshot.voice.model.AudioFrame (a voice-core type"), all);
        assertTrue(all.contains("Leaky.onEvent() parameter: kotlin.Unit"), all);
        assertEquals(4, bad.size(), all); // and nothing about fine()
    }

    /** Leaks a Kotlin function type (of Unit), a Flow and a voice-core type. */
    public static final class Leaky {
        public void onEvent(kotlin.jvm.functions.Function1<String, kotlin.Unit> f) {
        }

        public kotlinx.coroutines.flow.@org.jspecify.annotations.Nullable Flow<String> frames() {
            return null;
        }

        public dev.earshot.voice.model.@org.jspecify.annotations.Nullable AudioFrame frame() {
            return null;
        }

        public String fine() {
            return "";
        }
    }
}
