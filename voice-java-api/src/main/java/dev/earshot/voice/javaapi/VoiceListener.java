package dev.earshot.voice.javaapi;

import org.jspecify.annotations.Nullable;

/**
 * Receives what happens on a connection; override only what you need (every method does nothing by default).
 * Register it with {@link JavaVoiceConnection#addListener(VoiceListener, java.util.concurrent.Executor)}.
 *
 * <p>Every call runs on the executor given there, never on Earshot's threads, one at a time and in the order things
 * happened. Within a 20 ms tick the order is: {@link #onUserAudio} for each speaker, {@link #onOpusPacket} for each
 * packet, then {@link #onCombinedAudio}. An exception thrown by a method is logged and the calls go on.
 */
public interface VoiceListener {
    /** One speaker's 20 ms frame; {@link VoiceFrame#userId()} is {@link UserIds#UNKNOWN} while the SSRC has no known user. */
    default void onUserAudio(VoiceFrame frame) {
    }

    /** One received Opus packet, as sent. */
    default void onOpusPacket(VoicePacket packet) {
    }

    /**
     * Whether this listener wants {@link #onCombinedAudio}; read once, when it is added. Mixing costs CPU, so it
     * happens only for listeners that return true (default false), and only when the connection decodes
     * ({@code ReceiveConfig.decode()} is not null).
     */
    default boolean canReceiveCombined() {
        return false;
    }

    /**
     * The combined track, when {@link #canReceiveCombined()}: one frame every 20 ms, everyone mixed, silence
     * ({@link VoiceFrame.Kind#SILENCE}) when nobody speaks.
     */
    default void onCombinedAudio(VoiceFrame mixed) {
    }

    /** A speaker started talking: user, SSRC, the tick and wall-clock time of the first audio. */
    default void onSpeakingStart(ChannelEvent.SpeakingStarted event) {
    }

    /** A speaker stopped talking (after the speaking hang without audio): user, SSRC, the last tick with audio and its end. */
    default void onSpeakingStop(ChannelEvent.SpeakingStopped event) {
    }

    /** A member joined the channel. */
    default void onMemberJoin(long userId) {
    }

    /** A member left the channel. */
    default void onMemberLeave(long userId) {
    }

    /** Every event, including the ones above, after the specific method. */
    default void onEvent(ChannelEvent event) {
    }

    /**
     * The connection has ended: the last call. {@code cause} is null after a disconnect, else why it ended (a
     * {@code VoiceConnectionException}) or what stopped the receiver. Not called for a subscription closed first.
     */
    default void onClosed(@Nullable Throwable cause) {
    }
}
