package dev.earshot.voice.javaapi;

import dev.earshot.voice.audio.MixPolicy;

/**
 * Who is in a combined track and how loud, by Discord user id. Users without a setting are included at unity gain
 * when {@code includeByDefault}. Not thread-safe: set it up before handing it to a sink or publisher.
 */
public final class MixSettings {
    private final MixPolicy core;

    /** Everyone included at unity gain. */
    public MixSettings() {
        this(true);
    }

    /** Users without a setting (and users not known yet) are included when {@code includeByDefault}. */
    public MixSettings(boolean includeByDefault) {
        this.core = new MixPolicy(includeByDefault, includeByDefault);
    }

    /** Mixes {@code userId}. */
    public MixSettings include(long userId) {
        core.include(userId);
        return this;
    }

    /** Leaves {@code userId} out. */
    public MixSettings exclude(long userId) {
        core.exclude(userId);
        return this;
    }

    /** Scales {@code userId} by {@code gain} (1.0 unity, linear; at most 8.0; 0 or less mutes). */
    public MixSettings gain(long userId, float gain) {
        core.setGain(userId, gain);
        return this;
    }

    /** Whether {@code userId} is mixed. */
    public boolean isIncluded(long userId) {
        return core.isIncluded(userId);
    }

    /** The gain {@code userId} is mixed with (1.0 unless set). */
    public float gainOf(long userId) {
        return core.gainOf(userId);
    }

    MixPolicy core() {
        return core;
    }
}
