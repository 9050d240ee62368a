package dev.earshot.voice.javaapi;

import dev.earshot.voice.jitter.PlayoutDelay;
import dev.earshot.voice.ReceiveConfig;
import dev.earshot.voice.VoiceReceiver;
import dev.earshot.voice.codec.PcmFormat;
import dev.earshot.voice.connection.VoiceConnection;
import dev.earshot.voice.connection.VoiceConnectionConfig;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Executors;

import static java.util.Map.entry;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every voice-core setting and connection operation is reachable from Java: the core's settings and operations are
 * enumerated by reflection (so a new one fails this test until Java can reach it) and each is looked up on the Java
 * side.
 */
class CoreReachabilityTest {
    /** Core settings whose Java methods have another name: Kotlin's dispatchers are Java's executors. */
    private static final Map<String, String> SETTING_RENAMES = Map.of(
            "readDispatcher", "readExecutor", "pipelineDispatcher", "pipelineExecutor");

    /** The settings of a Kotlin builder: its property setters (Java-visible or not, mangled or not), internal ones left out. */
    private static Set<String> settingsOf(Class<?> builder) {
        Set<String> out = new TreeSet<>();
        for (Method m : builder.getDeclaredMethods()) {
            String n = m.getName();
            if (!n.startsWith("set") || n.contains("$") || m.getParameterCount() != 1 || !Modifier.isPublic(m.getModifiers())) continue;
            int dash = n.indexOf('-');
            String property = n.substring(3, dash < 0 ? n.length() : dash);
            out.add(Character.toLowerCase(property.charAt(0)) + property.substring(1));
        }
        return out;
    }

    /** A public, non-synthetic method {@code name} of {@code c} with {@code parameters} parameters, Java-clean, or null. */
    private static Method javaMethod(Class<?> c, String name, int parameters) {
        for (Method m : c.getMethods()) {
            if (!m.getName().equals(name) || m.isSynthetic() || m.getParameterCount() != parameters) continue;
            boolean clean = !kotlin(m.getReturnType());
            for (Class<?> p : m.getParameterTypes()) clean &= !kotlin(p);
            if (clean) return m;
        }
        return null;
    }

    private static boolean kotlin(Class<?> c) {
        return c.getName().startsWith("kotlin.") || c.getName().startsWith("kotlinx.");
    }

    private static List<String> unreachableSettings(Class<?> config, Class<?> builder) {
        List<String> missing = new ArrayList<>();
        for (String setting : settingsOf(builder)) {
            String java = SETTING_RENAMES.getOrDefault(setting, setting);
            Method set = javaMethod(builder, java, 1);
            if (set == null || set.getReturnType() != builder) missing.add(builder.getName() + "." + java + "(value) for " + setting);
            if (javaMethod(config, java, 0) == null) missing.add(config.getName() + "." + java + "() for " + setting);
        }
        return missing;
    }

    @Test
    void everyReceiveSettingHasAJavaSetterAndGetter() {
        Set<String> settings = settingsOf(ReceiveConfig.Builder.class);
        // The enumeration must see the settings, the ones the old facade had lost among them, or it proves nothing.
        assertTrue(settings.containsAll(Set.of("decode", "playout", "holdPerSsrc", "unknownSsrcHold", "decodeThreads",
                "stageQueueCapacity", "maxHeldSsrcs", "clock", "readDispatcher")), settings::toString);
        assertTrue(settings.size() >= 17, settings::toString);
        assertEquals(List.of(), unreachableSettings(ReceiveConfig.class, ReceiveConfig.Builder.class));
    }

    @Test
    void everyConnectionSettingHasAJavaSetterAndGetter() {
        Set<String> settings = settingsOf(VoiceConnectionConfig.Builder.class);
        assertTrue(settings.containsAll(Set.of("receive", "moveGrace", "healthyAfter", "trustManager", "daveSessionFactory")), settings::toString);
        assertTrue(settings.size() >= 15, settings::toString);
        assertEquals(List.of(), unreachableSettings(VoiceConnectionConfig.class, VoiceConnectionConfig.Builder.class));
    }

    /**
     * Each public operation of voice-core's connection and receiver (by JVM name), and the Java methods that reach it:
     * on {@link JavaVoiceConnection} unless prefixed with another class. An empty list marks one that Java users do
     * not need, with the reason in {@link #NOT_FOR_JAVA}.
     */
    private static final Map<String, List<String>> CONNECTION_OPERATIONS = Map.ofEntries(
            entry("getConfig", List.of("config")),
            entry("getReceiver", List.of("timeline", "stats")),
            entry("getDave", List.of("daveProtocolVersion", "davePrivacyCode")),
            entry("getState", List.of("state")),
            entry("getStateChanges", List.of("addStateListener")),
            entry("getClosed", List.of("closed")),
            entry("isAlive", List.of("isAlive")),
            entry("getSession", List.of("session")),
            entry("getSsrc", List.of("ssrc")),
            entry("getEncryptionMode", List.of("encryptionMode")),
            entry("getPing", List.of("ping")),
            entry("getMembers", List.of("members")),
            entry("getEvents", List.of("events", "addListener")),
            entry("listen", List.of("listen")),
            entry("stopListening", List.of("stopListening")),
            entry("pauseListening", List.of("pauseListening")),
            entry("resumeListening", List.of("resumeListening")),
            entry("isListening", List.of("isListening")),
            entry("play", List.of("play")),
            entry("stopPlaying", List.of("stopPlaying")),
            entry("isPlaying", List.of("isPlaying")),
            entry("stop", List.of("stopPlaying", "stopListening")),
            entry("updateServer", List.of("updateServer")),
            entry("updateVoiceState", List.of("updateVoiceState", "removedFromChannel")),
            entry("disconnect", List.of("disconnect", "close")),
            entry("awaitClosed", List.of("closed")),
            entry("connect", List.of("EarshotVoice.connect")));

    private static final Map<String, List<String>> RECEIVER_OPERATIONS = Map.ofEntries(
            entry("getConfig", List.of("config")),
            entry("getTimeline", List.of("timeline")),
            entry("getTicks", List.of("addListener")),
            entry("getOutputsFlow", List.of("addListener")),
            entry("ticks", List.of("listen")),
            entry("getEvents", List.of("events")),
            entry("getSpeaking", List.of("addListener", "events")),
            entry("frames", List.of("frames", "subscribeUser")),
            entry("framesOfSsrc", List.of("framesOfSsrc")),
            entry("mixed", List.of("combinedAudio")),
            entry("getOpusPackets", List.of("opusPackets")),
            entry("opusPackets", List.of("frames")),
            entry("listen", List.of("listen")),
            entry("isListening", List.of("isListening")),
            entry("stopListening", List.of("stopListening")),
            entry("awaitSinks", List.of("ActiveSink.finished")),
            entry("pauseListening", List.of("pauseListening")),
            entry("resumeListening", List.of("resumeListening")),
            entry("stats", List.of("stats")),
            entry("speakerStats", List.of("speakerStats")),
            entry("close", List.of("disconnect")),
            entry("awaitClose", List.of("closed")),
            entry("setTransportKey", List.of()),
            entry("start", List.of()),
            entry("getSsrcs", List.of()),
            entry("forgetSsrc", List.of()),
            entry("getRtcp", List.of()),
            entry("newRecording", List.of()),
            entry("getRecording", List.of()));

    /** Why a receiver operation is left out of the Java API. */
    private static final Map<String, String> NOT_FOR_JAVA = Map.of(
            "setTransportKey", "the connection installs the voice server's keys itself",
            "start", "the connection starts its receiver",
            "getSsrcs", "the gateway fills the SSRC directory; frames and events carry the user ids",
            "forgetSsrc", "the connection forgets the SSRCs of members who leave",
            "getRtcp", "RTCP reports are the voice server's diagnostics; the counters and speaker stats cover playout",
            "newRecording", "Java sinks join the connection's default recording, so their files share one t0",
            "getRecording", "Java sinks join the connection's default recording, so their files share one t0");

    /** The public operations of {@code c}: declared, non-synthetic, not Kotlin-internal, not Object's. */
    private static Set<String> operationsOf(Class<?> c) {
        Set<String> out = new TreeSet<>();
        for (Method m : c.getDeclaredMethods()) {
            if (!Modifier.isPublic(m.getModifiers()) || m.isSynthetic() || m.getName().contains("$")) continue;
            // A Kotlin-mangled name (a value class in the signature) counts as the operation it names.
            String name = m.getName().contains("-") ? m.getName().substring(0, m.getName().indexOf('-')) : m.getName();
            if (Set.of("toString", "equals", "hashCode").contains(name)) continue;
            out.add(name);
        }
        return out;
    }

    private static boolean javaHas(String target) {
        Class<?> owner = JavaVoiceConnection.class;
        String name = target;
        int dot = target.indexOf('.');
        if (dot > 0) {
            owner = switch (target.substring(0, dot)) {
                case "EarshotVoice" -> EarshotVoice.class;
                case "ActiveSink" -> ActiveSink.class;
                default -> throw new IllegalArgumentException(target);
            };
            name = target.substring(dot + 1);
        }
        for (Method m : owner.getMethods()) if (m.getName().equals(name) && !m.isSynthetic()) return true;
        return false;
    }

    private static List<String> unreachable(Set<String> operations, Map<String, List<String>> map, String what) {
        List<String> missing = new ArrayList<>();
        for (String op : operations) {
            List<String> java = map.get(op);
            if (java == null) {
                missing.add(what + "." + op + ": not mapped to the Java API (add a Java method and map it here)");
            } else if (java.isEmpty()) {
                if (!NOT_FOR_JAVA.containsKey(op)) missing.add(what + "." + op + ": left out without a reason");
            } else {
                for (String j : java) if (!javaHas(j)) missing.add(what + "." + op + ": Java method " + j + " is missing");
            }
        }
        return missing;
    }

    @Test
    void everyConnectionOperationIsReachableFromJava() {
        Set<String> ops = operationsOf(VoiceConnection.class);
        ops.addAll(operationsOf(VoiceConnection.Companion.class));
        assertTrue(ops.containsAll(Set.of("updateVoiceState", "updateServer", "disconnect", "listen", "connect")), ops::toString);
        assertEquals(List.of(), unreachable(ops, CONNECTION_OPERATIONS, "VoiceConnection"));
        // Every mapping names a real core operation: a renamed one must be remapped, not silently kept.
        assertTrue(ops.containsAll(CONNECTION_OPERATIONS.keySet()), () -> "stale: " + CONNECTION_OPERATIONS.keySet() + " vs " + ops);
    }

    @Test
    void everyReceiverOperationIsReachableFromJavaOrLeftOutForAStatedReason() {
        Set<String> ops = operationsOf(VoiceReceiver.class);
        assertTrue(ops.containsAll(Set.of("speakerStats", "getTimeline", "frames", "mixed", "stats")), ops::toString);
        assertEquals(List.of(), unreachable(ops, RECEIVER_OPERATIONS, "VoiceReceiver"));
        assertTrue(ops.containsAll(RECEIVER_OPERATIONS.keySet()), () -> "stale: " + RECEIVER_OPERATIONS.keySet() + " vs " + ops);
    }

    @Test
    void theEnumerationCatchesAnOperationThatJavaCannotReach() {
        List<String> missing = unreachable(Set.of("speakerStats", "somethingNew"), RECEIVER_OPERATIONS, "VoiceReceiver");
        assertEquals(List.of("VoiceReceiver.somethingNew: not mapped to the Java API (add a Java method and map it here)"), missing);
    }

    @Test
    void settingsBuiltInJavaReachTheCoreAndSurviveACopy() {
        ReceiveConfig receive = ReceiveConfig.builder()
                .decode(PcmFormat.MONO_16K)
                .playout(PlayoutDelay.adaptive(Duration.ofMillis(40), Duration.ofMillis(300), Duration.ofMillis(100)))
                .maxConcealment(Duration.ofMillis(80))
                .unknownSsrcHold(Duration.ofMillis(700))
                .holdPerSsrc(7)
                .maxHeldSsrcs(3)
                .decodeThreads(2)
                .stageQueueCapacity(64)
                .pipelineExecutor(Executors.newSingleThreadExecutor())
                .build();
        VoiceConnectionConfig config = VoiceConnectionConfig.builder().receive(receive).healthyAfter(Duration.ofSeconds(5))
                .moveGrace(Duration.ZERO).build();
        VoiceConnectionConfig copy = config.newBuilder().secure(false).build();
        ReceiveConfig r = copy.receive();
        assertEquals(PcmFormat.MONO_16K, r.decode());
        assertEquals("PlayoutDelay.Adaptive(min=40ms, max=300ms, initial=100ms)", r.playout().toString());
        assertEquals(Duration.ofMillis(100), r.playoutDelay());
        assertEquals(Duration.ofMillis(80), r.maxConcealment());
        assertEquals(Duration.ofMillis(700), r.unknownSsrcHold());
        assertEquals(7, r.holdPerSsrc());
        assertEquals(3, r.maxHeldSsrcs());
        assertEquals(2, r.decodeThreads());
        assertEquals(64, r.stageQueueCapacity());
        assertTrue(r.pipelineExecutor() != null && r.readExecutor() == null);
        assertEquals(Duration.ofSeconds(5), copy.healthyAfter());
        assertEquals(Duration.ZERO, copy.moveGrace());
        assertTrue(!copy.secure() && config.secure());
        assertEquals(Duration.ofSeconds(60), VoiceConnectionConfig.DEFAULT.healthyAfter());
        // A fixed delay, and the playoutDelay shorthand that sets one.
        assertEquals("PlayoutDelay.Fixed(80ms)", ReceiveConfig.builder().playoutDelay(Duration.ofMillis(80)).build().playout().toString());
        assertEquals(Duration.ofMillis(60), ((PlayoutDelay.Fixed) PlayoutDelay.fixed(Duration.ofMillis(60))).delay());
    }

    @Test
    void invalidSettingsFailTheBuildNamingTheSetting() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ReceiveConfig.builder().holdPerSsrc(0).build());
        assertTrue(e.getMessage().startsWith("holdPerSsrc must be at least 1"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> VoiceConnectionConfig.builder().handshakeTimeout(Duration.ZERO).build());
        assertTrue(e.getMessage().startsWith("handshakeTimeout must be positive"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> PlayoutDelay.adaptive(Duration.ofMillis(200), Duration.ofMillis(100), Duration.ofMillis(150)));
        assertTrue(e.getMessage().contains("must not be below min"), e.getMessage());
    }
}
