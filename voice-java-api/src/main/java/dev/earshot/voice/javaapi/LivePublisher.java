package dev.earshot.voice.javaapi;

import java.util.Objects;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;

/** {@link VoicePublisher} over a publisher made by the runtime, which counts its drops in {@link #dropped}. */
final class LivePublisher<T> implements VoicePublisher<T> {
    private final LongAdder dropped = new LongAdder();
    private final Flow.Publisher<T> publisher;

    /** {@code make} builds the publisher given the drop counter. */
    LivePublisher(Function<LongAdder, Flow.Publisher<T>> make) {
        this.publisher = make.apply(dropped);
    }

    /** Checks a buffer size from a caller. */
    static int buffer(int size) {
        if (size < 1) throw new IllegalArgumentException("bufferSize must be at least 1, was " + size);
        return size;
    }

    @Override
    public void subscribe(Flow.Subscriber<? super T> subscriber) {
        publisher.subscribe(Objects.requireNonNull(subscriber, "subscriber"));
    }

    @Override
    public long droppedItems() {
        return dropped.sum();
    }
}
