package dev.earshot.voice.javaapi;

import dev.earshot.voice.javaapi.internal.ConnectionRuntime;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Runs the callbacks of one subscription on the caller's executor: each item of the source becomes one task there,
 * and the next item waits until that task has run, so calls are in order, never overlap, and a slow listener backs
 * up into the receiver's bounded queue (oldest dropped, counted in {@code ReceiveStats.droppedTicks}).
 */
final class CallbackSubscription<T> implements Subscription {
    private static final Logger LOG = LoggerFactory.getLogger(CallbackSubscription.class);

    private final Executor executor;
    private final Function<T, @Nullable Runnable> task;
    private final Consumer<@Nullable Throwable> onClosed;
    private volatile boolean closed;
    private volatile @Nullable AutoCloseable pump;

    private CallbackSubscription(Executor executor, Function<T, @Nullable Runnable> task, Consumer<@Nullable Throwable> onClosed) {
        this.executor = executor;
        this.task = task;
        this.onClosed = onClosed;
    }

    /**
     * Subscribes before returning: {@code pump} starts the runtime's pump with a deliver function and an end callback;
     * {@code task} builds the callback work of an item (null: none).
     */
    static <T> CallbackSubscription<T> start(
            ConnectionRuntime runtime,
            BiFunction<Function<T, @Nullable CompletionStage<?>>, Consumer<@Nullable Throwable>, AutoCloseable> pump,
            Executor executor, Function<T, @Nullable Runnable> task, Consumer<@Nullable Throwable> onClosed) {
        CallbackSubscription<T> s = new CallbackSubscription<>(executor, task, onClosed);
        AutoCloseable p = pump.apply(s::deliver, failure -> s.end(runtime, failure));
        s.pump = p;
        if (s.closed) closeQuietly(p);
        return s;
    }

    private @Nullable CompletionStage<?> deliver(T item) {
        if (closed) return null;
        Runnable work = task.apply(item);
        if (work == null) return null;
        CompletableFuture<Void> done = new CompletableFuture<>();
        executor.execute(() -> {
            try {
                if (!closed) work.run();
            } finally {
                done.complete(null);
            }
        });
        return done;
    }

    private void end(ConnectionRuntime runtime, @Nullable Throwable failure) {
        if (failure != null) LOG.warn("a subscription stopped: its executor failed", failure);
        runtime.closeCause().whenComplete((cause, ignored) -> {
            Throwable why = failure != null ? failure : cause;
            try {
                executor.execute(() -> {
                    if (closed) return;
                    closed = true;
                    safely(() -> onClosed.accept(why));
                });
            } catch (RejectedExecutionException e) {
                closed = true;
                LOG.warn("onClosed not delivered: the executor rejected it", e);
            }
        });
    }

    @Override
    public void close() {
        closed = true;
        AutoCloseable p = pump;
        if (p != null) closeQuietly(p);
    }

    @Override
    public boolean isActive() {
        return !closed;
    }

    /** Runs one listener call; what it throws is logged, and the calls go on. */
    static void safely(Runnable call) {
        try {
            call.run();
        } catch (VirtualMachineError e) {
            throw e;
        } catch (Throwable t) {
            LOG.warn("a voice listener threw; its subscription goes on", t);
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception e) {
            LOG.debug("close failed", e);
        }
    }
}
