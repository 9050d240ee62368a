package dev.earshot.voice.javaapi;

import dev.earshot.voice.javaapi.internal.Publishers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.reactivestreams.tck.TestEnvironment;
import org.reactivestreams.tck.flow.FlowPublisherVerification;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.LongStream;

/**
 * The Reactive Streams TCK (its {@code FlowPublisherVerification}) against the publishers' buffer and
 * kotlinx-coroutines' {@code asPublisher} behind it. The TCK is written for TestNG; its verification methods are
 * plain methods, so each runs here as a JUnit dynamic test (a TestNG {@code SkipException} becomes a skipped test).
 */
class FlowTckTest {
    /** At least as many as the TCK asks for: a publisher that produces faster than it is asked would otherwise drop. */
    private static final int BUFFER = 1024;
    private static final ExecutorService EXECUTOR = Executors.newFixedThreadPool(2, r -> {
        Thread t = new Thread(r, "tck");
        t.setDaemon(true);
        return t;
    });

    @AfterAll
    static void stop() {
        EXECUTOR.shutdownNow();
    }

    /** The verification: finite publishers of Longs, and a failed one. */
    static final class Verification extends FlowPublisherVerification<Long> {
        Verification() {
            super(new TestEnvironment(2000, 200));
        }

        @Override
        public Flow.Publisher<Long> createFlowPublisher(long elements) {
            return Publishers.bufferedPublisher(LongStream.range(0, elements).boxed().toList(), null, EXECUTOR, BUFFER, new LongAdder());
        }

        @Override
        public Flow.Publisher<Long> createFailedFlowPublisher() {
            return Publishers.bufferedPublisher(List.of(), new IllegalStateException("failed (expected in this test)"), EXECUTOR, BUFFER,
                    new LongAdder());
        }

        @Override
        public long maxElementsFromPublisher() {
            return BUFFER;
        }
    }

    @TestFactory
    List<DynamicTest> theTckPassesForTheBufferedPublisher() throws Exception {
        List<DynamicTest> tests = new ArrayList<>();
        List<Method> methods = new ArrayList<>();
        for (Method m : Verification.class.getMethods()) {
            if (m.isAnnotationPresent(org.testng.annotations.Test.class) && m.getParameterCount() == 0) methods.add(m);
        }
        methods.sort(Comparator.comparing(Method::getName));
        if (methods.size() < 30) throw new AssertionError("only " + methods.size() + " TCK methods found");
        for (Method m : methods) {
            tests.add(DynamicTest.dynamicTest(m.getName(), () -> {
                Verification v = new Verification();
                v.setUp();
                try {
                    m.invoke(v);
                } catch (InvocationTargetException e) {
                    if (e.getCause() instanceof org.testng.SkipException skip) Assumptions.abort(skip.getMessage());
                    throw e.getCause();
                }
            }));
        }
        return tests;
    }
}
