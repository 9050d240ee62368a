package dev.earshot.voice.javaapi;

import java.util.concurrent.Flow;

/**
 * A hot stream of a connection as a {@link Flow.Publisher}, implemented by kotlinx-coroutines' Reactive Streams
 * bridge: each subscriber gets what happens from its first {@code request} on. {@code onSubscribe} runs on the
 * subscribing thread, within {@code subscribe}; {@code onNext}, {@code onError} and {@code onComplete} run on the
 * executor the publisher was made with, one at a time.
 *
 * <p>Backpressure: items wait in a bounded buffer per subscriber until requested; when the buffer is full the
 * oldest item is dropped and counted in {@link #droppedItems()} (audio is live: a subscriber that falls behind loses
 * its oldest audio, never the newest, and memory stays bounded). The stream completes when the connection ends after a
 * disconnect, and fails with the cause when it ends on its own. Subscribing after the end completes at once.
 */
public interface VoicePublisher<T> extends Flow.Publisher<T> {
    /** Buffer size per subscriber when none is given: 250 items (5 s of 20 ms frames). */
    int DEFAULT_BUFFER = 250;

    /** Items dropped so far, over all subscribers, because a subscriber's buffer was full. */
    long droppedItems();
}
