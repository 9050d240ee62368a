package dev.earshot.voice.javaapi;

/**
 * A registration of a listener with a connection ({@link JavaVoiceConnection#addListener},
 * {@link JavaVoiceConnection#subscribeUser}). Closing it stops the callbacks: none starts after {@link #close()}
 * returns (one already running finishes). Closing twice does nothing.
 */
public interface Subscription extends AutoCloseable {
    /** Stops the callbacks; never blocks, so it may be called from a callback. */
    @Override
    void close();

    /** Whether callbacks may still come: false once closed, or once the connection has ended and {@code onClosed} ran. */
    boolean isActive();
}
