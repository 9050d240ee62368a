package dev.earshot.voice.kafka;

import kotlin.jvm.JvmClassMappingKt;
import kotlin.reflect.KVisibility;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.GenericArrayType;
import java.lang.reflect.Member;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.lang.reflect.WildcardType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every public signature of {@code dev.earshot.voice.kafka} a Java user meets is free of Kotlin types (function types,
 * {@code Flow}, {@code Continuation}, {@code kotlin.time.Duration}), Kotlin-mangled names and {@code Companion} members
 * without a static twin. Kotlin-only members are {@code @JvmSynthetic} and skipped, as are members whose names contain
 * {@code $} (Kotlin-internal). {@link KafkaVoiceSink} is Kotlin-only by design (a voice-core {@code AudioSink} with
 * suspend functions, followed through a coroutine scope; Java gets it as a {@code VoiceSink} from
 * {@link VoiceKafkaPublisher#voiceSink}), and is the checker's negative case.
 */
class KafkaPublicApiTest {
    private static final List<Class<?>> KOTLIN_ONLY = List.of(KafkaVoiceSink.class);

    private static List<Class<?>> packageClasses() throws Exception {
        Path root = Path.of(VoiceKafkaPublisher.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Path dir = root.resolve("dev/earshot/voice/kafka");
        List<Class<?>> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files.sorted()::iterator) {
                String name = p.getFileName().toString();
                if (!name.endsWith(".class")) continue;
                out.add(Class.forName("dev.earshot.voice.kafka." + name.substring(0, name.length() - 6), false,
                        KafkaPublicApiTest.class.getClassLoader()));
            }
        }
        return out;
    }

    @Test
    void everyJavaFacingSignatureIsJavaClean() throws Exception {
        List<Class<?>> classes = packageClasses();
        for (Class<?> c : List.of(VoiceKafkaPublisher.class, KafkaPublisherConfig.class, KafkaPublisherConfig.Builder.class,
                PublisherStats.class, VoiceKafkaWorker.class, KafkaWorkerConfig.class, KafkaWorkerConfig.Builder.class,
                VoiceSinkFactory.class, SessionSinkFactory.class, WorkerListener.class, WorkerSession.class, WorkerStats.class,
                VoiceRecords.class)) {
            assertTrue(classes.contains(c) && isApi(c), c::getName); // the scan sees the API, or it proves nothing
        }
        List<String> bad = new ArrayList<>();
        for (Class<?> c : classes) if (isApi(c) && !KOTLIN_ONLY.contains(c)) check(c, bad);
        assertEquals(List.of(), bad, () -> String.join("\n", bad));
    }

    @Test
    void theCheckerFindsKotlinTypesInTheKotlinOnlySink() {
        List<String> bad = new ArrayList<>();
        check(KafkaVoiceSink.class, bad);
        assertTrue(bad.stream().anyMatch(s -> s.contains("kotlin.coroutines.Continuation")), () -> String.join("\n", bad));
        assertTrue(bad.stream().anyMatch(s -> s.contains("kotlinx.coroutines.CoroutineScope")), () -> String.join("\n", bad));
    }

    private static boolean isApi(Class<?> c) {
        for (Class<?> k = c; k != null; k = k.getDeclaringClass()) {
            if (!Modifier.isPublic(k.getModifiers()) || k.isSynthetic() || k.isAnonymousClass()) return false;
            if (k.isAnnotationPresent(kotlin.Metadata.class)) {
                try {
                    KVisibility v = JvmClassMappingKt.getKotlinClass(k).getVisibility();
                    if (v != null && v != KVisibility.PUBLIC && v != KVisibility.PROTECTED) return false;
                } catch (UnsupportedOperationException e) {
                    // a file facade: its members are checked by their JVM modifiers
                }
            }
        }
        return true;
    }

    private static boolean visible(Member m) {
        int mod = m.getModifiers();
        return (Modifier.isPublic(mod) || Modifier.isProtected(mod)) && !m.isSynthetic() && !m.getName().contains("$");
    }

    private static void check(Class<?> c, List<String> bad) {
        String where = c.getName();
        if (c.getGenericSuperclass() != null) type(where + " extends", c.getGenericSuperclass(), bad);
        for (Type i : c.getGenericInterfaces()) type(where + " implements", i, bad);
        for (Field f : c.getDeclaredFields()) {
            if (!visible(f)) continue;
            if (Modifier.isStatic(f.getModifiers()) && f.getName().equals("Companion") && isApi(f.getType())) {
                for (Method m : f.getType().getDeclaredMethods()) {
                    if (!visible(m) || m.isBridge()) continue;
                    try {
                        if (Modifier.isStatic(c.getDeclaredMethod(m.getName(), m.getParameterTypes()).getModifiers())) continue;
                    } catch (NoSuchMethodException ignored) {
                        // reported below
                    }
                    bad.add(where + ".Companion." + m.getName() + "() is not @JvmStatic");
                }
                continue;
            }
            type(where + "." + f.getName(), f.getGenericType(), bad);
        }
        for (Constructor<?> k : c.getDeclaredConstructors()) {
            if (!visible(k)) continue;
            for (Type t : k.getGenericParameterTypes()) type(where + ".<init>", t, bad);
        }
        for (Method m : c.getDeclaredMethods()) {
            if (!visible(m) || m.isBridge()) continue;
            String w = where + "." + m.getName() + "()";
            if (m.getName().contains("-")) bad.add(w + ": a Kotlin-mangled name");
            type(w + " returns", m.getGenericReturnType(), bad);
            for (Type t : m.getGenericParameterTypes()) type(w + " parameter", t, bad);
        }
    }

    private static void type(String where, Type t, List<String> bad) {
        if (t instanceof Class<?> c) {
            while (c.isArray()) c = c.getComponentType();
            if (c.getName().startsWith("kotlin.") || c.getName().startsWith("kotlinx.")) bad.add(where + ": " + c.getName());
        } else if (t instanceof ParameterizedType p) {
            type(where, p.getRawType(), bad);
            for (Type a : p.getActualTypeArguments()) type(where, a, bad);
        } else if (t instanceof WildcardType w) {
            for (Type b : w.getUpperBounds()) type(where, b, bad);
            for (Type b : w.getLowerBounds()) type(where, b, bad);
        } else if (t instanceof GenericArrayType a) {
            type(where, a.getGenericComponentType(), bad);
        }
    }
}
