package dev.earshot.voice.javaapi;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The PCM helpers, the segmenter settings and the unknown-user id. */
class PcmTest {
    @Test
    void samplesBecomeLittleEndianBytesAndFloats() {
        short[] pcm = {0, 1, -1, 0x1234, Short.MIN_VALUE, Short.MAX_VALUE};
        assertArrayEquals(new byte[] {0, 0, 1, 0, (byte) 0xFF, (byte) 0xFF, 0x34, 0x12, 0, (byte) 0x80, (byte) 0xFF, 0x7F},
                Pcm.toLittleEndian(pcm));
        float[] f = Pcm.toFloats(pcm);
        assertEquals(0f, f[0]);
        assertEquals(-1f, f[4]);
        assertEquals(32767f / 32768f, f[5]);
        assertEquals(1f / 32768f, f[1]);
    }

    @Test
    void segmenterSettingsRoundUpToTicksAndRejectNonsense() {
        assertEquals(30, SegmenterSettings.ticks(SegmenterSettings.DEFAULT.endSilence()));
        assertEquals(1500, SegmenterSettings.ticks(SegmenterSettings.DEFAULT.maxLength()));
        assertEquals(10, SegmenterSettings.ticks(SegmenterSettings.DEFAULT.minSpeech()));
        assertEquals(2, SegmenterSettings.ticks(Duration.ofMillis(21)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SegmenterSettings.DEFAULT.withEndSilence(Duration.ZERO));
        assertTrue(e.getMessage().startsWith("endSilence"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> SegmenterSettings.DEFAULT.withMinSpeech(Duration.ofMinutes(1)));
        assertTrue(e.getMessage().startsWith("minSpeech"), e.getMessage());
    }

    @Test
    void theUnknownUserIsMinusOne() {
        assertEquals(-1L, UserIds.UNKNOWN);
        assertFalse(UserIds.isKnown(UserIds.UNKNOWN));
        assertTrue(UserIds.isKnown(1234L));
        assertEquals(UserIds.UNKNOWN, UserIds.of(null));
        assertEquals(7L, UserIds.of(7L));
    }
}
