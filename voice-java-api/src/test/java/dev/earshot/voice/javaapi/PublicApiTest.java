package dev.earshot.voice.javaapi;

import dev.earshot.voice.base.NanoClock;
import dev.earshot.voice.jitter.PlayoutDelay;
import dev.earshot.voice.ReceiveConfig;
import dev.earshot.voice.model.ReceiveStats;
import dev.earshot.voice.model.SpeakerStats;
import dev.earshot.voice.audio.MixPolicy;
import dev.earshot.voice.codec.OpusDecoderFactory;
import dev.earshot.voice.codec.OpusDecoders;
import dev.earshot.voice.codec.PcmFormat;
import dev.earshot.voice.connection.DaveRequiredException;
import dev.earshot.voice.connection.NoSupportedEncryptionModeException;
import dev.earshot.voice.connection.VoiceChannelLeftException;
import dev.earshot.voice.connection.VoiceConnectionConfig;
import dev.earshot.voice.connection.VoiceConnectionException;
import dev.earshot.voice.connection.VoiceGatewayClosedException;
import dev.earshot.voice.connection.VoiceHandshakeTimeoutException;
import dev.earshot.voice.connection.VoiceReconnectFailedException;
import dev.earshot.voice.connection.VoiceSessionInfo;
import dev.earshot.voice.dave.DaveSessionFactory;
import dev.earshot.voice.files.AudioFileException;
import dev.earshot.voice.files.FfmpegFailedException;
import dev.earshot.voice.files.FfmpegNotFoundException;
import dev.earshot.voice.files.MalformedOggException;
import dev.earshot.voice.files.WavSizeLimitException;
import dev.earshot.voice.javaapi.badsample.BadApi;
import dev.earshot.voice.javaapi.badsample.BadSingleton;
import dev.earshot.voice.javaapi.internal.ConnectionRuntime;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Java API's public signatures are Java-only: checked over every public class compiled into the facade's package,
 * over the voice-core types a Java user now touches directly (settings, values, exceptions), and over the facade's
 * internal package, whose public members its Java sources call.
 */
public class PublicApiTest {
    /** voice-core classes a Java user meets: the typed failures of futures and file writers. */
    private static final Set<Class<?>> CORE_EXCEPTIONS = Set.of(
            VoiceConnectionException.class, VoiceGatewayClosedException.class, DaveRequiredException.class,
            NoSupportedEncryptionModeException.class, VoiceReconnectFailedException.class, VoiceHandshakeTimeoutException.class,
            VoiceChannelLeftException.class,
            AudioFileException.class, WavSizeLimitException.class, FfmpegNotFoundException.class, FfmpegFailedException.class,
            MalformedOggException.class);

    /** voice-core's settings and value types, used from Java directly (builders, java.time overloads, static factories). */
    private static final Set<Class<?>> CORE_TYPES = Set.of(
            VoiceConnectionConfig.class, VoiceConnectionConfig.Builder.class, VoiceConnectionConfig.Companion.class,
            ReceiveConfig.class, ReceiveConfig.Builder.class, ReceiveConfig.Companion.class,
            PlayoutDelay.class, PlayoutDelay.Fixed.class, PlayoutDelay.Adaptive.class, PlayoutDelay.Companion.class,
            PcmFormat.class, MixPolicy.class, VoiceSessionInfo.class, ReceiveStats.class, SpeakerStats.class,
            NanoClock.class, NanoClock.Companion.class, OpusDecoders.class);

    /** Core interfaces that appear in the settings (implemented or passed on, not called through): allowed, not checked. */
    private static final Set<Class<?>> CORE_SEAMS = Set.of(OpusDecoderFactory.class, DaveSessionFactory.class);

    private static final ApiChecker CHECKER = new ApiChecker(c ->
            c.getPackageName().equals("dev.earshot.voice.javaapi") || CORE_EXCEPTIONS.contains(c) || CORE_TYPES.contains(c)
                    || CORE_SEAMS.contains(c));

    /** For the internal package: any Earshot type may appear, but nothing Kotlin. */
    private static final ApiChecker KOTLIN_ONLY = new ApiChecker(c -> true);

    private static List<Class<?>> classesOf(String pkg) throws Exception {
        Path dir = Path.of(EarshotVoice.class.getProtectionDomain().getCodeSource().getLocation().toURI())
                .resolve(pkg.replace('.', '/'));
        return ApiChecker.classesIn(dir, pkg);
    }

    @Test
    void everyPublicSignatureOfTheFacadeIsFreeOfKotlinAndCoreTypes() throws Exception {
        List<Class<?>> classes = classesOf("dev.earshot.voice.javaapi");
        // The scan must see the API, or it proves nothing.
        assertTrue(classes.contains(JavaVoiceConnection.class) && classes.contains(VoiceListener.class)
                && classes.contains(ChannelEvent.SpeakingStarted.class) && classes.contains(Utterance.class), classes::toString);
        assertTrue(classes.size() >= 30, "only " + classes.size() + " classes found");
        List<String> bad = CHECKER.check(classes);
        assertEquals(List.of(), bad, () -> String.join("\n", bad));
    }

    @Test
    void theCoreTypesJavaUsersTouchAreJavaCleanToo() {
        List<Class<?>> all = new ArrayList<>(CORE_EXCEPTIONS);
        all.addAll(CORE_TYPES);
        List<String> bad = CHECKER.check(all);
        assertEquals(List.of(), bad, () -> String.join("\n", bad));
    }

    @Test
    void theInternalGlueTheJavaSourcesCallShowsNoKotlinType() throws Exception {
        List<Class<?>> classes = classesOf("dev.earshot.voice.javaapi.internal");
        Set<String> names = new HashSet<>();
        for (Class<?> c : classes) names.add(c.getSimpleName());
        assertTrue(names.containsAll(Set.of("ConnectionRuntime", "SinkGlue", "Publishers")), names::toString);
        List<String> bad = KOTLIN_ONLY.check(classes);
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

        public ConnectionRuntime runtime() {
            throw new UnsupportedOperationException();
        }
    }
}
