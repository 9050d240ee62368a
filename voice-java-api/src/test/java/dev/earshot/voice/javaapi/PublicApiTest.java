package dev.earshot.voice.javaapi;

import dev.earshot.voice.connection.DaveRequiredException;
import dev.earshot.voice.connection.NoSupportedEncryptionModeException;
import dev.earshot.voice.connection.VoiceConnectionException;
import dev.earshot.voice.connection.VoiceGatewayClosedException;
import dev.earshot.voice.connection.VoiceHandshakeTimeoutException;
import dev.earshot.voice.connection.VoiceReconnectFailedException;
import dev.earshot.voice.files.AudioFileException;
import dev.earshot.voice.files.FfmpegFailedException;
import dev.earshot.voice.files.FfmpegNotFoundException;
import dev.earshot.voice.files.MalformedOggException;
import dev.earshot.voice.files.WavSizeLimitException;
import dev.earshot.voice.javaapi.badsample.BadApi;
import dev.earshot.voice.javaapi.badsample.BadSingleton;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The facade's public signatures are Java-only: checked over every public class compiled into the package. */
public class PublicApiTest {
    /** voice-core classes a Java user meets: the typed failures of futures and file writers (checked too, below). */
    private static final Set<Class<?>> CORE_EXCEPTIONS = Set.of(
            VoiceConnectionException.class, VoiceGatewayClosedException.class, DaveRequiredException.class,
            NoSupportedEncryptionModeException.class, VoiceReconnectFailedException.class, VoiceHandshakeTimeoutException.class,
            AudioFileException.class, WavSizeLimitException.class, FfmpegNotFoundException.class, FfmpegFailedException.class,
            MalformedOggException.class);

    private static final ApiChecker CHECKER = new ApiChecker(c ->
            c.getPackageName().equals("dev.earshot.voice.javaapi") || CORE_EXCEPTIONS.contains(c));

    @Test
    void everyPublicSignatureOfTheFacadeIsFreeOfKotlinAndCoreTypes() throws Exception {
        Path dir = Path.of(EarshotVoice.class.getProtectionDomain().getCodeSource().getLocation().toURI())
                .resolve("dev/earshot/voice/javaapi");
        List<Class<?>> classes = ApiChecker.classesIn(dir, "dev.earshot.voice.javaapi");
        // The scan must see the API, or it proves nothing.
        assertTrue(classes.contains(JavaVoiceConnection.class) && classes.contains(VoiceListener.class)
                && classes.contains(ChannelEvent.SpeakingStarted.class) && classes.contains(VoiceConfig.Builder.class), classes::toString);
        assertTrue(classes.size() >= 30, "only " + classes.size() + " classes found");
        List<String> bad = CHECKER.check(classes);
        assertEquals(List.of(), bad, () -> String.join("\n", bad));
    }

    @Test
    void theCoreExceptionsJavaUsersCatchAreJavaCleanToo() {
        List<String> bad = CHECKER.check(new ArrayList<>(CORE_EXCEPTIONS));
        assertEquals(List.of(), bad, () -> String.join("\n", bad));
    }

    @Test
    void theCheckerNamesEveryKotlinOnlyMemberOfADeliberatelyBadClass() {
        List<String> bad = CHECKER.check(List.of(BadApi.class, BadApi.Companion.class, BadSingleton.class));
        String all = String.join("\n", bad);
        assertTrue(all.contains("BadApi.timeout-") && all.contains("Kotlin-mangled"), all);
        assertTrue(all.contains("BadApi.onEvent() parameter: kotlin.jvm.functions.Function1"), all);
        assertTrue(all.contains("BadApi.load() parameter: kotlin.coroutines.Continuation"), all);
        assertTrue(all.contains("BadApi.numbers() returns: kotlinx.coroutines.flow.Flow"), all);
        assertTrue(all.contains("BadApi.pairs() returns: kotlin.Pair"), all);
        assertTrue(all.contains("BadApi.Companion: a Kotlin Companion field"), all);
        assertTrue(all.contains("BadSingleton.INSTANCE: a Kotlin INSTANCE field"), all);
        assertTrue(bad.stream().noneMatch(s -> s.contains("fine()")), all);
    }

    @Test
    void theCheckerRejectsCoreAndInternalTypesInSignatures() {
        List<String> bad = CHECKER.check(List.of(Leaky.class));
        String all = String.join("\n", bad);
        assertTrue(all.contains("Leaky.frame() returns: dev.earshot.voice.model.AudioFrame (a voice-core type"), all);
        assertTrue(all.contains("Leaky.runtime() returns: dev.earshot.voice.javaapi.internal.ConnectionRuntime (a facade-internal type"), all);
        assertEquals(2, bad.size(), all);
    }

    /** Leaks a voice-core type and a facade-internal type. */
    public static final class Leaky {
        public dev.earshot.voice.model.AudioFrame frame() {
            throw new UnsupportedOperationException();
        }

        public dev.earshot.voice.javaapi.internal.ConnectionRuntime runtime() {
            throw new UnsupportedOperationException();
        }
    }
}
