package dev.earshot.voice.testkit;

import dev.earshot.voice.testkit.chaos.ChaosAction;
import dev.earshot.voice.testkit.chaos.ChaosAttempt;
import dev.earshot.voice.testkit.chaos.ChaosScript;
import dev.earshot.voice.testkit.chaos.ChaosServerConfig;
import dev.earshot.voice.testkit.chaos.ChaosStep;
import dev.earshot.voice.testkit.chaos.ChaosVoiceServer;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The testkit's Java-facing public signatures are free of Kotlin-only shapes; checked over every public class compiled
 * into {@code dev.earshot.voice.testkit} and {@code dev.earshot.voice.testkit.chaos}. Kotlin-only members ({@code @JvmSynthetic}) stay for Kotlin callers.
 */
public class TestkitPublicApiTest {
    private static Path packageDir(Class<?> anyClass) throws Exception {
        Path root = Path.of(anyClass.getProtectionDomain().getCodeSource().getLocation().toURI());
        return root.resolve(anyClass.getPackageName().replace('.', '/'));
    }

    @Test
    void everyPublicSignatureOfTheTestkitIsJavaClean() throws Exception {
        List<Class<?>> classes = TestkitApiChecker.classesIn(packageDir(VoiceTestServer.class), "dev.earshot.voice.testkit");
        // The scan must see the API, or it proves nothing.
        for (Class<?> c : List.of(VoiceTestServer.class, TestServerConfig.class, TestServerConfig.Builder.class,
                TestChannel.class, TestChannel.MemberBuilder.class, ScriptedMember.class, MemberScript.class,
                MemberScript.Builder.class, ScriptStep.Tone.class, ClientSession.class, FaultConfig.Builder.class,
                ClientMessage.class, TlsMaterial.class)) {
            assertTrue(classes.contains(c) && TestkitApiChecker.isApi(c), c::getName);
        }
        List<String> bad = TestkitApiChecker.check(classes);
        assertEquals(List.of(), bad, () -> String.join("\n", bad));
    }

    @Test
    void everyPublicSignatureOfTheChaosServerIsJavaClean() throws Exception {
        List<Class<?>> classes = TestkitApiChecker.classesIn(packageDir(ChaosVoiceServer.class), "dev.earshot.voice.testkit.chaos");
        for (Class<?> c : List.of(ChaosVoiceServer.class, ChaosServerConfig.Builder.class, ChaosScript.Builder.class,
                ChaosAction.Stall.class, ChaosAction.Silence.class, ChaosAttempt.class, ChaosStep.class)) {
            assertTrue(classes.contains(c) && TestkitApiChecker.isApi(c), c::getName);
        }
        List<String> bad = TestkitApiChecker.check(classes);
        assertEquals(List.of(), bad, () -> String.join("\n", bad));
    }

    @Test
    void kotlinInternalClassesAreNotTakenForApi() {
        // Public in bytecode, internal in Kotlin: the checker must not demand a Java face of them, nor accept them in a signature.
        assertFalse(TestkitApiChecker.isApi(ServerCounters.class));
        assertFalse(TestkitApiChecker.isApi(dev.earshot.voice.testkit.internal.Endpoint.class));
    }

    @Test
    void theCheckerNamesEveryKotlinOnlyShapeOfADeliberatelyBadClass() {
        List<String> bad = TestkitApiChecker.check(List.of(BadTestkitApi.class, BadTestkitApi.Companion.class, BadTestkitObject.class, Leaky.class));
        String all = String.join("\n", bad);
        assertTrue(all.contains("BadTestkitApi.wait-") && all.contains("Kotlin-mangled"), all);
        assertTrue(all.contains("BadTestkitApi.wait-") && all.contains("parameter: kotlin.coroutines.Continuation"), all);
        assertTrue(all.contains("BadTestkitApi.script() parameter: kotlin.jvm.functions.Function1"), all);
        assertTrue(all.contains("BadTestkitApi.packets() returns: kotlinx.coroutines.flow.Flow (a Kotlin Flow)"), all);
        assertTrue(all.contains("BadTestkitApi.done() returns: kotlin.Unit"), all);
        assertTrue(all.contains("Leaky.counters() returns: dev.earshot.voice.testkit.ServerCounters (a testkit- or Earshot-internal type"), all);
        assertTrue(all.contains("Leaky.endpoint() returns: dev.earshot.voice.testkit.internal.Endpoint (a testkit- or Earshot-internal type"), all);
        assertTrue(all.contains("BadTestkitApi.Companion: a Kotlin Companion field, and create() is not @JvmStatic"), all);
        assertTrue(all.contains("BadTestkitObject.INSTANCE: a Kotlin INSTANCE field of an object with methods"), all);
        assertTrue(all.contains("BadTestkitApi.getTimeout-"), all);
        assertTrue(bad.stream().noneMatch(s -> s.contains("fine()") || s.contains("javaOnly")), all);
    }

    /** Leaks a Kotlin-internal class (public in bytecode) and a class of the testkit's internal package. */
    public static final class Leaky {
        public ServerCounters counters() {
            throw new UnsupportedOperationException();
        }

        public dev.earshot.voice.testkit.internal.Endpoint endpoint() {
            throw new UnsupportedOperationException();
        }

        public String fine() {
            return "ok";
        }
    }
}
