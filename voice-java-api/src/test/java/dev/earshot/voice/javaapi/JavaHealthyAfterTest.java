package dev.earshot.voice.javaapi;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The reconnect backoff's healthy period is reachable from Java and survives a copy. */
class JavaHealthyAfterTest {
    @Test
    void healthyAfterDefaultsToOneMinuteAndCanBeSet() {
        assertEquals(Duration.ofSeconds(60), VoiceConfig.DEFAULT.healthyAfter());
        VoiceConfig c = VoiceConfig.builder().healthyAfter(Duration.ofSeconds(5)).build();
        assertEquals(Duration.ofSeconds(5), c.healthyAfter());
        assertEquals(Duration.ofSeconds(5), c.toBuilder().build().healthyAfter());
    }
}
