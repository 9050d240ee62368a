package dev.earshot.voice.javaapi;

import dev.earshot.voice.javaapi.internal.ConnectionRuntime;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.Flow;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;
import java.util.function.Supplier;

/** {@link VoicePublisher} over a voice-core flow: a bounded drop-oldest buffer per subscriber, drained on an executor. */
final class BufferedPublisher<S, T> implements VoicePublisher<T> {
    private static final Logger LOG = LoggerFactory.getLogger(BufferedPublisher.class);

    private final ConnectionRuntime runtime;
    private final Supplier<kotlinx.coroutines.flow.Flow<S>> source;
    private final Function<S, @Nullable T> convert;
    private final Executor executor;
    private final int capacity;
    private final LongAdder dropped = new LongAdder();

    BufferedPublisher(ConnectionRuntime runtime, Supplier<kotlinx.coroutines.flow.Flow<S>> source, Function<S, @Nullable T> convert, Executor executor, int capacity) {
        if (capacity < 1) throw new IllegalArgumentException("capacity must be at least 1, was " + capacity);
        this.runtime = runtime;
        this.source = source;
        this.convert = convert;
        this.executor = Objects.requireNonNull(executor, "executor");
        this.capacity = capacity;
    }

    @Override
    public void subscribe(Flow.Subscriber<? super T> subscriber) {
        Objects.requireNonNull(subscriber, "subscriber");
        new Sub(subscriber).start();
    }

    @Override
    public long droppedItems() {
        return dropped.sum();
    }

    private final class Sub implements Flow.Subscription {
        private final Flow.Subscriber<? super T> downstream;
        private final AtomicInteger wip = new AtomicInteger();
        // Guarded by this.
        private final ArrayDeque<T> buffer = new ArrayDeque<>();
        private long demand;
        private boolean done;
        private @Nullable Throwable error;
        private boolean cancelled;
        // Only touched by the drain, which runs one at a time.
        private boolean subscribed;
        private boolean terminated;
        private volatile @Nullable AutoCloseable pump;

        Sub(Flow.Subscriber<? super T> downstream) {
            this.downstream = downstream;
        }

        void start() {
            AutoCloseable p = runtime.pump(source.get(), item -> {
                T t = convert.apply(item);
                if (t != null) offer(t);
                return null;
            }, failure -> runtime.getClosed().whenComplete((cause, ignored) -> finish(failure != null ? failure : cause)));
            pump = p;
            boolean stop;
            synchronized (this) {
                stop = cancelled;
            }
            if (stop) closePump();
            schedule();
        }

        private void offer(T item) {
            synchronized (this) {
                if (cancelled || done) return;
                if (buffer.size() == capacity) {
                    buffer.pollFirst();
                    dropped.increment();
                }
                buffer.addLast(item);
            }
            schedule();
        }

        private void finish(@Nullable Throwable cause) {
            synchronized (this) {
                if (done) return;
                done = true;
                error = cause;
            }
            schedule();
        }

        @Override
        public void request(long n) {
            if (n <= 0) {
                synchronized (this) {
                    buffer.clear();
                    if (!done) {
                        done = true;
                        error = new IllegalArgumentException("request(" + n + "): demand must be positive (Reactive Streams §3.9)");
                    }
                }
                closePump();
            } else {
                synchronized (this) {
                    long d = demand + n;
                    demand = d < 0 ? Long.MAX_VALUE : d;
                }
            }
            schedule();
        }

        @Override
        public void cancel() {
            synchronized (this) {
                cancelled = true;
                buffer.clear();
            }
            closePump();
        }

        private void closePump() {
            AutoCloseable p = pump;
            if (p == null) return;
            try {
                p.close();
            } catch (Exception e) {
                LOG.debug("close failed", e);
            }
        }

        private void schedule() {
            if (wip.getAndIncrement() != 0) return;
            try {
                executor.execute(this::drain);
            } catch (RejectedExecutionException e) {
                LOG.warn("a voice publisher's executor rejected its work; the subscription is cancelled", e);
                cancel();
            }
        }

        private void drain() {
            int missed = 1;
            while (true) {
                if (!subscribed) {
                    subscribed = true;
                    try {
                        downstream.onSubscribe(this);
                    } catch (Throwable t) {
                        LOG.warn("onSubscribe threw; cancelling", t);
                        cancel();
                    }
                }
                while (true) {
                    T item = null;
                    boolean terminate = false;
                    Throwable err = null;
                    synchronized (this) {
                        if (cancelled || terminated) break;
                        if (demand > 0 && !buffer.isEmpty()) {
                            item = buffer.pollFirst();
                            demand--;
                        } else if (done && buffer.isEmpty()) {
                            terminated = true;
                            terminate = true;
                            err = error;
                        }
                    }
                    if (item != null) {
                        try {
                            downstream.onNext(item);
                        } catch (Throwable t) {
                            LOG.warn("onNext threw; cancelling the subscription (Reactive Streams §2.13)", t);
                            cancel();
                        }
                        continue;
                    }
                    if (terminate) {
                        try {
                            if (err != null) downstream.onError(err);
                            else downstream.onComplete();
                        } catch (Throwable t) {
                            LOG.warn("a subscriber's terminal signal threw", t);
                        }
                    }
                    break;
                }
                missed = wip.addAndGet(-missed);
                if (missed == 0) return;
            }
        }
    }
}
