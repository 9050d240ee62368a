package dev.earshot.voice.javaapi;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The playout settings reach voice-core's receive configuration. */
class JavaPlayoutConfigTest {
    private static String corePlayout(VoiceConfig c) {
        return c.core().getReceive().getPlayout().toString();
    }

    @Test
    void theDefaultIsAnAdaptiveDelayStartingAt60Ms() {
        VoiceConfig c = VoiceConfig.DEFAULT;
        assertTrue(c.adaptivePlayout());
        assertEquals(Duration.ofMillis(20), c.minPlayoutDelay());
        assertEquals(Duration.ofMillis(500), c.maxPlayoutDelay());
        assertEquals(Duration.ofMillis(60), c.playoutDelay());
        assertEquals("PlayoutDelay.Adaptive(min=20ms, max=500ms, initial=60ms)", corePlayout(c));
    }

    @Test
    void adaptiveBoundsAndAFixedDelayAreHonoured() {
        VoiceConfig adaptive = VoiceConfig.builder()
            .minPlayoutDelay(Duration.ofMillis(40))
            .maxPlayoutDelay(Duration.ofMillis(300))
            .playoutDelay(Duration.ofMillis(100))
            .build();
        assertEquals("PlayoutDelay.Adaptive(min=40ms, max=300ms, initial=100ms)", corePlayout(adaptive));
        VoiceConfig fixed = adaptive.toBuilder().adaptivePlayout(false).playoutDelay(Duration.ofMillis(80)).build();
        assertFalse(fixed.adaptivePlayout());
        assertEquals("PlayoutDelay.Fixed(80ms)", corePlayout(fixed));
    }

    @Test
    void inconsistentBoundsFailTheBuild() {
        VoiceConfig.Builder b = VoiceConfig.builder().minPlayoutDelay(Duration.ofMillis(200)).maxPlayoutDelay(Duration.ofMillis(100));
        assertThrows(IllegalArgumentException.class, b::build);
        VoiceConfig.Builder outside = VoiceConfig.builder().playoutDelay(Duration.ofMillis(600));
        assertThrows(IllegalArgumentException.class, outside::build);
        // A fixed delay is not bound by the adaptive range.
        assertEquals("PlayoutDelay.Fixed(600ms)", corePlayout(outside.adaptivePlayout(false).build()));
    }
}
