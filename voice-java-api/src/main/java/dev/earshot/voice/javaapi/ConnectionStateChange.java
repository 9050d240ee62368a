package dev.earshot.voice.javaapi;

import org.jspecify.annotations.Nullable;

import java.time.Instant;

/**
 * One state a connection entered, as {@link ConnectionStateListener} receives it.
 *
 * @param state     the state entered
 * @param resuming  for {@link ConnectionState#RECONNECTING}: true for a resume (same session, key and SSRC), false
 *                  for a full reconnect; false for other states
 * @param closeCode for {@link ConnectionState#RECONNECTING}: the close code of the socket that ended (0 when it could
 *                  not be opened or failed without a close); 0 for other states
 * @param attempt   for {@link ConnectionState#RECONNECTING}: the attempt since the connection last stayed healthy, 1
 *                  for the first; 0 for other states
 * @param cause     for {@link ConnectionState#CLOSED}: why the connection ended, null after a disconnect; null for
 *                  other states
 * @param time      when the listener's subscription saw the state (wall clock)
 */
public record ConnectionStateChange(
        ConnectionState state, boolean resuming, int closeCode, int attempt, @Nullable Throwable cause, Instant time) {
}
