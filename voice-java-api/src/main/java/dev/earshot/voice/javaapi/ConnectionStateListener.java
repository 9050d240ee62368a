package dev.earshot.voice.javaapi;

import org.jspecify.annotations.Nullable;

/**
 * Told where a connection is in its life ({@link JavaVoiceConnection#addStateListener}): first the state at the time
 * of subscribing, then every change, in order, on the executor given, never two calls at once. The last call is
 * {@link ConnectionState#CLOSED}, then {@link #onClosed}. Even a state held for a moment (a resume over in
 * milliseconds) is delivered; a listener more than 16 changes behind loses the oldest of those it has not been given.
 */
@FunctionalInterface
public interface ConnectionStateListener {
    /** The connection entered {@code change.state()}. */
    void onStateChange(ConnectionStateChange change);

    /**
     * The subscription has ended: after the {@code CLOSED} state, or when its executor failed. {@code cause} is the
     * connection's end cause (null after a disconnect). Default: nothing.
     */
    default void onClosed(@Nullable Throwable cause) {
    }
}
