package dev.earshot.voice.javaapi;

import org.jspecify.annotations.Nullable;

/**
 * Receives one user's audio: a frame for every 20 ms tick in which they speak. Register it with
 * {@link JavaVoiceConnection#subscribeUser}; calls run on the given executor, one at a time, in tick order.
 */
@FunctionalInterface
public interface UserAudioListener {
    /** The user's frame of one tick. */
    void onAudio(VoiceFrame frame);

    /** The connection has ended (null cause after a disconnect); the last call. Not called once the subscription is closed. */
    default void onClosed(@Nullable Throwable cause) {
    }
}
