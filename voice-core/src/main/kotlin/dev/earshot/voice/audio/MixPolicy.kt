package dev.earshot.voice.audio

import dev.earshot.voice.internal.LongMap

/**
 * Per-user settings for [PcmMixer]: which users are mixed and at what gain, keyed by Discord user id. Users without
 * a setting follow [includeByDefault] at unity gain; frames whose user is not known yet follow
 * [includeUnknownUsers]. Lookups do not allocate. Not thread-safe: change it from the thread that mixes.
 */
public class MixPolicy @JvmOverloads constructor(
    /** Whether a user with no [include]/[exclude] call is mixed (default true: everyone). */
    public val includeByDefault: Boolean = true,
    /** Whether frames with no user id (SSRC not mapped yet) are mixed, at unity gain (default: [includeByDefault]). */
    public val includeUnknownUsers: Boolean = includeByDefault,
) {
    private class Setting(var included: Boolean, var gain: Float, var gainQ16: Int)

    private val settings = LongMap<Setting>()

    /** Mixes [userId] from now on. */
    public fun include(userId: Long) {
        setting(userId).included = true
    }

    /** Leaves [userId] out of the mix from now on. */
    public fun exclude(userId: Long) {
        setting(userId).included = false
    }

    /**
     * Scales [userId] by [gain] (1.0 = unity, linear amplitude). Values at or below 0 or NaN mute the user,
     * values above 8.0 are capped at 8.0.
     */
    public fun setGain(userId: Long, gain: Float) {
        val s = setting(userId)
        s.gain = if (gain.isNaN() || gain < 0f) 0f else minOf(gain, Gain.MAX)
        s.gainQ16 = Gain.toQ16(gain)
    }

    /** The gain of [userId] as applied (1.0 unless set). */
    public fun gainOf(userId: Long): Float = settings[userId]?.gain ?: 1f

    /** Whether frames of [userId] (null: not known yet) are mixed. */
    public fun isIncluded(userId: Long?): Boolean =
        if (userId == null) includeUnknownUsers else settings[userId]?.included ?: includeByDefault

    /** Forgets the settings of [userId], so it follows the defaults again. */
    public fun reset(userId: Long) {
        settings.remove(userId)
    }

    /** The Q16 gain to mix [userId] with; 0 when left out. */
    internal fun gainQ16(userId: Long?): Int {
        if (userId == null) return if (includeUnknownUsers) Gain.UNITY_Q16 else 0
        val s = settings[userId] ?: return if (includeByDefault) Gain.UNITY_Q16 else 0
        return if (s.included) s.gainQ16 else 0
    }

    private fun setting(userId: Long): Setting =
        settings[userId] ?: Setting(includeByDefault, 1f, Gain.UNITY_Q16).also { settings[userId] = it }
}
