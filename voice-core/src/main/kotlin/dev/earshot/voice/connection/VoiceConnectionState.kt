package dev.earshot.voice.connection

/** Where a [VoiceConnection] is in its life; observe it through [VoiceConnection.state]. */
public sealed class VoiceConnectionState {
    /** Opening the first socket and doing the handshake. */
    public object Connecting : VoiceConnectionState() {
        override fun toString(): String = "Connecting"
    }

    /** Audio flows: the session description (key) has arrived, or a resume completed. */
    public class Connected(
        /** Our SSRC. */
        public val ssrc: Long,
        /** The voice server host in use. */
        public val endpoint: String,
    ) : VoiceConnectionState() {
        override fun toString(): String = "Connected(ssrc=$ssrc, endpoint=$endpoint)"
    }

    /**
     * The socket closed and a new one is being opened; recordings carry on meanwhile. [resuming] is true for a resume
     * (same session, key and SSRC), false for a full reconnect; [closeCode] is why the last socket ended (0 when it
     * could not be opened or failed without a close); [attempt] counts the attempts since the connection last stayed
     * healthy ([VoiceConnectionConfig.healthyAfter]), 1 for the first (which is immediate).
     */
    public class Reconnecting(public val resuming: Boolean, public val closeCode: Int, public val attempt: Int) : VoiceConnectionState() {
        override fun toString(): String = "Reconnecting(resuming=$resuming, closeCode=$closeCode, attempt=$attempt)"
    }

    /** The voice server is being reallocated (a VOICE_SERVER_UPDATE with a null endpoint); waiting for the next one. */
    public object WaitingForServer : VoiceConnectionState() {
        override fun toString(): String = "WaitingForServer"
    }

    /** The connection has ended; [cause] is null after [VoiceConnection.disconnect], else why it ended. */
    public class Closed(public val cause: Throwable?) : VoiceConnectionState() {
        override fun toString(): String = "Closed(${if (cause == null) "disconnected" else cause.message ?: cause.toString()})"
    }
}
