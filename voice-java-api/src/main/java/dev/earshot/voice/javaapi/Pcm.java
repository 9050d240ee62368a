package dev.earshot.voice.javaapi;

/**
 * Conversions of Earshot's PCM (interleaved signed 16-bit samples in {@code short[]}) into what speech-to-text
 * services and audio libraries take: little-endian bytes (WAV, most HTTP and WebSocket recognisers) and floats.
 */
public final class Pcm {
    private Pcm() {
    }

    /** {@code pcm} as signed 16-bit little-endian bytes, two per sample (a new array). */
    public static byte[] toLittleEndian(short[] pcm) {
        byte[] out = new byte[pcm.length * 2];
        for (int i = 0; i < pcm.length; i++) {
            short s = pcm[i];
            out[2 * i] = (byte) s;
            out[2 * i + 1] = (byte) (s >> 8);
        }
        return out;
    }

    /** {@code pcm} as floats in [-1, 1): each sample divided by 32768 (a new array). */
    public static float[] toFloats(short[] pcm) {
        float[] out = new float[pcm.length];
        for (int i = 0; i < pcm.length; i++) out[i] = pcm[i] / 32768f;
        return out;
    }
}
