package dev.earshot.voice.javaapi;

import kotlin.jvm.JvmClassMappingKt;
import kotlin.reflect.KVisibility;

import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.GenericArrayType;
import java.lang.reflect.Member;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.lang.reflect.TypeVariable;
import java.lang.reflect.WildcardType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * Checks by reflection that public signatures are Java-clean: no type from {@code kotlin.*} or {@code kotlinx.*}
 * (function types, {@code Continuation} of suspend functions, {@code Flow}, {@code Unit}, {@code kotlin.time.Duration}...),
 * no Kotlin-mangled members (value classes), no {@code Companion} or {@code INSTANCE} that Java would have to go
 * through (one is fine when every public method on it is also a static method of the class: {@code @JvmStatic}), and
 * no voice-core or facade-internal type where a facade type belongs. Members whose names contain {@code $}
 * (Kotlin-internal or compiler-made) and synthetic or bridge members are not API and are skipped, as is the
 * {@code getEntries()} Kotlin adds to every enum (Java has {@code values()}), and so are classes Kotlin declares
 * {@code internal} or {@code private} (public in bytecode). The modules with a Java face (voice-jda, voice-kafka,
 * voice-transcribe) use it through this module's test jar.
 */
public final class ApiChecker {
    private final Predicate<Class<?>> allowedEarshotType;

    /** {@code allowedEarshotType} says which {@code dev.earshot.*} classes may appear in signatures. */
    public ApiChecker(Predicate<Class<?>> allowedEarshotType) {
        this.allowedEarshotType = allowedEarshotType;
    }

    /** The public top-level and nested classes compiled into {@code dir} (one package, not its subpackages). */
    public static List<Class<?>> classesIn(Path dir, String packageName) throws IOException, ClassNotFoundException {
        List<Class<?>> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files.sorted()::iterator) {
                String name = p.getFileName().toString();
                if (!name.endsWith(".class") || name.equals("package-info.class")) continue;
                out.add(Class.forName(packageName + "." + name.substring(0, name.length() - 6), false, ApiChecker.class.getClassLoader()));
            }
        }
        return out;
    }

    /** Every violation in the public API of {@code classes}, each naming the class and member. */
    public List<String> check(Collection<Class<?>> classes) {
        List<String> bad = new ArrayList<>();
        for (Class<?> c : classes) {
            if (!isApi(c)) continue;
            String where = c.getName();
            if (c.getGenericSuperclass() != null) type(where + " extends", c.getGenericSuperclass(), bad);
            for (Type i : c.getGenericInterfaces()) type(where + " implements", i, bad);
            for (Field f : c.getDeclaredFields()) {
                if (!visible(f)) continue;
                String w = where + "." + f.getName();
                // A Companion Kotlin declares internal is no API, however public its field is in bytecode.
                if (Modifier.isStatic(f.getModifiers()) && (f.getName().equals("Companion") || f.getName().equals("INSTANCE"))
                        && (f.getName().equals("INSTANCE") || isApi(f.getType()))) {
                    List<String> notStatic = notStatic(f.getType(), c);
                    if (!notStatic.isEmpty()) bad.add(w + ": a Kotlin " + f.getName() + " field (use static members): " + notStatic);
                }
                type(w, f.getGenericType(), bad);
            }
            for (Constructor<?> k : c.getDeclaredConstructors()) {
                if (!visible(k)) continue;
                for (Type t : k.getGenericParameterTypes()) type(where + ".<init>", t, bad);
            }
            for (Method m : c.getDeclaredMethods()) {
                if (!visible(m) || m.isBridge()) continue;
                if (c.isEnum() && m.getName().equals("getEntries") && m.getParameterCount() == 0) continue;
                String w = where + "." + m.getName() + "()";
                if (m.getName().contains("-")) bad.add(w + ": a Kotlin-mangled name (value class in the signature)");
                type(w + " returns", m.getGenericReturnType(), bad);
                for (Type t : m.getGenericParameterTypes()) type(w + " parameter", t, bad);
                for (Type t : m.getGenericExceptionTypes()) type(w + " throws", t, bad);
            }
        }
        return bad;
    }

    /** Public instance methods of {@code holder} with no static method of the same name and parameters in {@code owner}. */
    private static List<String> notStatic(Class<?> holder, Class<?> owner) {
        List<String> out = new ArrayList<>();
        for (Method m : holder.getDeclaredMethods()) {
            if (!visible(m) || m.isBridge() || Modifier.isStatic(m.getModifiers())) continue;
            try {
                Method twin = owner.getDeclaredMethod(m.getName(), m.getParameterTypes());
                if (Modifier.isStatic(twin.getModifiers())) continue;
            } catch (NoSuchMethodException e) {
                // no twin
            }
            out.add(m.getName());
        }
        return out;
    }

    /** Whether {@code c} is public API: public down from its outermost class, and not internal or private in Kotlin. */
    public static boolean isApi(Class<?> c) {
        for (Class<?> k = c; k != null; k = k.getDeclaringClass()) {
            // Before getDeclaringClass: Kotlin's inlined lambda classes can disagree with their host on InnerClasses.
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

    private void type(String where, Type t, List<String> bad) {
        walk(where, t, bad, new HashSet<>());
    }

    private void walk(String where, Type t, List<String> bad, Set<Type> seen) {
        if (!seen.add(t)) return;
        if (t instanceof Class<?> c) {
            while (c.isArray()) c = c.getComponentType();
            String why = why(c);
            if (why != null) bad.add(where + ": " + c.getName() + " (" + why + ")");
        } else if (t instanceof ParameterizedType p) {
            walk(where, p.getRawType(), bad, seen);
            if (p.getOwnerType() != null) walk(where, p.getOwnerType(), bad, seen);
            for (Type a : p.getActualTypeArguments()) walk(where, a, bad, seen);
        } else if (t instanceof WildcardType w) {
            for (Type b : w.getUpperBounds()) walk(where, b, bad, seen);
            for (Type b : w.getLowerBounds()) walk(where, b, bad, seen);
        } else if (t instanceof TypeVariable<?> v) {
            for (Type b : v.getBounds()) walk(where, b, bad, seen);
        } else if (t instanceof GenericArrayType a) {
            walk(where, a.getGenericComponentType(), bad, seen);
        }
    }

    private String why(Class<?> c) {
        String n = c.getName();
        if (n.startsWith("kotlin.jvm.functions.")) return "a Kotlin function type";
        if (n.startsWith("kotlin.coroutines.")) return "a suspend function's Continuation";
        if (n.startsWith("kotlin.") || n.startsWith("kotlinx.")) return "a Kotlin type";
        if (n.startsWith("dev.earshot.") && !allowedEarshotType.test(c)) {
            if (n.startsWith("dev.earshot.voice.javaapi.internal.")) return "a facade-internal type";
            return "a voice-core type where a facade type belongs";
        }
        return null;
    }
}
