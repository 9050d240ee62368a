package dev.earshot.voice.javaapi;

/**
 * Discord user ids in this API are plain {@code long}s (snowflakes, always positive). Where the user behind a
 * speaker's SSRC is not known (yet), the id is {@link #UNKNOWN}: compare with {@code ==}, or use {@link #isKnown}.
 */
public final class UserIds {
    /** The user id of audio whose SSRC has no known user, and of the combined track: -1. */
    public static final long UNKNOWN = -1L;

    private UserIds() {
    }

    /** Whether {@code userId} is a user, not {@link #UNKNOWN}. */
    public static boolean isKnown(long userId) {
        return userId != UNKNOWN;
    }

    /** voice-core's nullable id as a {@code long}. */
    static long of(Long userId) {
        return userId == null ? UNKNOWN : userId;
    }
}
