package dev.earshot.voice.testkit;

import kotlin.jvm.JvmClassMappingKt;
import kotlin.reflect.KClass;
import kotlin.reflect.KFunction;
import kotlin.reflect.KVisibility;
import kotlin.reflect.jvm.ReflectJvmMapping;

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
import java.util.Arrays;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Checks by reflection that the public signatures a Java user of the testkit meets are Java-clean: no type from
 * {@code kotlin.*} or {@code kotlinx.*} (function types, the {@code Continuation} of a suspend function, {@code Flow},
 * {@code Unit}, {@code kotlin.time.Duration}, JSON elements...), no Kotlin-mangled name (a value class such as
 * {@code kotlin.time.Duration} in the signature puts a {@code -} in it), no {@code Companion} whose members are not
 * also static on the outer class ({@code @JvmStatic}/{@code @JvmField}), no {@code INSTANCE} of an object with
 * methods of its own, and no testkit-internal type.
 *
 * <p>Kotlin-only members are marked {@code @JvmSynthetic} (or are suspend functions and value-class signatures that
 * the compiler already makes synthetic or mangles); synthetic and bridge members, and members whose names contain
 * {@code $} (Kotlin {@code internal} ones), are invisible to Java source and skipped. Kotlin {@code internal} classes
 * and constructors are public in bytecode, so their visibility is read from Kotlin's metadata through kotlin-reflect.
 */
final class TestkitApiChecker {
    /** Object members every class has; an object declaring only these is a plain constant. */
    private static final Set<String> OBJECT_METHODS = Set.of("equals", "hashCode", "toString");

    private TestkitApiChecker() {
    }

    /** The classes compiled into {@code dir} (one package, not its subpackages), Kotlin-internal ones included. */
    static List<Class<?>> classesIn(Path dir, String packageName) throws IOException, ClassNotFoundException {
        List<Class<?>> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files.sorted()::iterator) {
                String name = p.getFileName().toString();
                if (!name.endsWith(".class") || name.equals("package-info.class")) continue;
                String binary = packageName + "." + name.substring(0, name.length() - 6);
                out.add(Class.forName(binary, false, TestkitApiChecker.class.getClassLoader()));
            }
        }
        return out;
    }

    /** Whether Java code outside the testkit can name {@code c}: public in bytecode and not Kotlin-internal or private. */
    static boolean isApi(Class<?> c) {
        for (Class<?> k = c; k != null; k = k.getDeclaringClass()) {
            if (!Modifier.isPublic(k.getModifiers()) || k.isSynthetic() || k.isAnonymousClass()) return false;
            KVisibility v = kotlinVisibility(k);
            if (v != null && v != KVisibility.PUBLIC && v != KVisibility.PROTECTED) return false;
        }
        return true;
    }

    /** Every violation in the public API of {@code classes}, each naming the class and member. */
    static List<String> check(Collection<Class<?>> classes) {
        List<String> bad = new ArrayList<>();
        for (Class<?> c : classes) {
            if (!isApi(c)) continue;
            String where = c.getName();
            if (c.getGenericSuperclass() != null) type(where + " extends", c.getGenericSuperclass(), bad);
            for (Type i : c.getGenericInterfaces()) type(where + " implements", i, bad);
            Set<Constructor<?>> hidden = kotlinHiddenConstructors(c);
            for (Field f : c.getDeclaredFields()) {
                if (!visible(f)) continue;
                String w = where + "." + f.getName();
                if (Modifier.isStatic(f.getModifiers()) && f.getName().equals("Companion")) {
                    if (!isApi(f.getType())) continue; // an internal companion object: not API
                    companion(w, c, f.getType(), bad);
                } else if (Modifier.isStatic(f.getModifiers()) && f.getName().equals("INSTANCE") && f.getType() == c) {
                    instance(w, c, bad);
                }
                type(w, f.getGenericType(), bad);
            }
            for (Constructor<?> k : c.getDeclaredConstructors()) {
                if (!visible(k) || hidden.contains(k)) continue;
                for (Type t : k.getGenericParameterTypes()) type(where + ".<init>", t, bad);
            }
            for (Method m : c.getDeclaredMethods()) {
                if (!visible(m) || m.isBridge() || isEnumEntries(c, m)) continue;
                String w = where + "." + m.getName() + "()";
                if (m.getName().contains("-")) bad.add(w + ": a Kotlin-mangled name (value class in the signature)");
                type(w + " returns", m.getGenericReturnType(), bad);
                for (Type t : m.getGenericParameterTypes()) type(w + " parameter", t, bad);
                for (Type t : m.getGenericExceptionTypes()) type(w + " throws", t, bad);
            }
        }
        return bad;
    }

    /** A {@code Companion} is fine when every Java-visible member of it is also a static member of the outer class. */
    private static void companion(String where, Class<?> outer, Class<?> companion, List<String> bad) {
        for (Method m : companion.getDeclaredMethods()) {
            if (!visible(m) || m.isBridge() || m.getName().contains("-")) continue;
            try {
                Method twin = outer.getDeclaredMethod(m.getName(), m.getParameterTypes());
                if (Modifier.isStatic(twin.getModifiers()) && Modifier.isPublic(twin.getModifiers())) continue;
            } catch (NoSuchMethodException ignored) {
                // reported below
            }
            bad.add(where + ": a Kotlin Companion field, and " + m.getName() + "() is not @JvmStatic");
        }
    }

    /**
     * An object's {@code INSTANCE} is fine for a constant (a data object of a sealed model, whose methods only override
     * its supertype's), not for an object with methods of its own, which Java would call as {@code X.INSTANCE.m()}.
     */
    private static void instance(String where, Class<?> c, List<String> bad) {
        boolean ownMethods = Arrays.stream(c.getDeclaredMethods())
                .anyMatch(m -> visible(m) && !m.isBridge() && !Modifier.isStatic(m.getModifiers())
                        && !OBJECT_METHODS.contains(m.getName()) && !overrides(c, m));
        if (ownMethods) bad.add(where + ": a Kotlin INSTANCE field of an object with methods (use static members)");
    }

    private static boolean overrides(Class<?> c, Method m) {
        List<Class<?>> supers = new ArrayList<>(Arrays.asList(c.getInterfaces()));
        if (c.getSuperclass() != null) supers.add(c.getSuperclass());
        for (Class<?> s : supers) {
            try {
                s.getMethod(m.getName(), m.getParameterTypes());
                return true;
            } catch (NoSuchMethodException e) {
                if (overrides(s, m)) return true;
            }
        }
        return false;
    }

    /**
     * Kotlin gives every enum a static {@code getEntries()} returning {@code kotlin.enums.EnumEntries}; Java code uses
     * {@code values()}, so this one compiler-made accessor is not held against the enum.
     */
    private static boolean isEnumEntries(Class<?> c, Method m) {
        return c.isEnum() && Modifier.isStatic(m.getModifiers()) && m.getName().equals("getEntries") && m.getParameterCount() == 0;
    }

    private static boolean visible(Member m) {
        int mod = m.getModifiers();
        return (Modifier.isPublic(mod) || Modifier.isProtected(mod)) && !m.isSynthetic() && !m.getName().contains("$");
    }

    /** Kotlin visibility of {@code c}, or null for classes kotlin-reflect does not describe (Java classes, file facades). */
    private static KVisibility kotlinVisibility(Class<?> c) {
        if (!c.isAnnotationPresent(kotlin.Metadata.class)) return null;
        try {
            return JvmClassMappingKt.getKotlinClass(c).getVisibility();
        } catch (UnsupportedOperationException e) {
            return null; // a file facade or synthetic class: its members are checked by their JVM modifiers
        }
    }

    /** Constructors public in bytecode but internal or private in Kotlin (Java code outside the module must not call them). */
    private static Set<Constructor<?>> kotlinHiddenConstructors(Class<?> c) {
        Set<Constructor<?>> out = new HashSet<>();
        if (!c.isAnnotationPresent(kotlin.Metadata.class)) return out;
        try {
            KClass<?> k = JvmClassMappingKt.getKotlinClass(c);
            for (KFunction<?> f : k.getConstructors()) {
                KVisibility v = f.getVisibility();
                if (v == KVisibility.PUBLIC || v == KVisibility.PROTECTED) continue;
                Constructor<?> j = ReflectJvmMapping.getJavaConstructor(f);
                if (j != null) out.add(j);
            }
        } catch (UnsupportedOperationException e) {
            // a file facade or synthetic class: no Kotlin constructors
        }
        return out;
    }

    private static void type(String where, Type t, List<String> bad) {
        walk(where, t, bad, new HashSet<>());
    }

    private static void walk(String where, Type t, List<String> bad, Set<Type> seen) {
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

    private static String why(Class<?> c) {
        String n = c.getName();
        if (n.startsWith("kotlin.jvm.functions.")) return "a Kotlin function type";
        if (n.startsWith("kotlin.coroutines.")) return "a suspend function's Continuation";
        if (n.startsWith("kotlinx.coroutines.flow.")) return "a Kotlin Flow";
        if (n.startsWith("kotlin.") || n.startsWith("kotlinx.")) return "a Kotlin type";
        if (n.startsWith("dev.earshot.") && (n.contains(".internal.") || !isApi(c))) return "a testkit- or Earshot-internal type";
        return null;
    }
}
