package dev.earshot.voice.javaapi;

/** Where a connection is in its life. */
public enum ConnectionState {
    /** Opening the first socket and doing the handshake. */
    CONNECTING,
    /** Audio flows. */
    CONNECTED,
    /** The socket closed and a new one is being opened (resume or full reconnect); recordings carry on. */
    RECONNECTING,
    /** The voice server is being reallocated; waiting for {@link JavaVoiceConnection#updateServer}. */
    WAITING_FOR_SERVER,
    /** The connection has ended. */
    CLOSED,
}
