package dev.earshot.voice.javaapi;

import dev.earshot.voice.codec.PcmFormat;
import dev.earshot.voice.files.OggOpusReader;
import dev.earshot.voice.files.RawPcmWriter;
import dev.earshot.voice.files.WavWriter;

import java.nio.file.Path;
import java.util.List;

/** Earshot's audio file writers and readers, for Java. */
public final class AudioFiles {
    private AudioFiles() {
    }

    /** Creates (or truncates) a WAV file for PCM in {@code format}. */
    public static PcmFile wav(Path file, PcmFormat format) {
        return new PcmFile(new WavWriter(file, format.getSampleRate(), format.getChannels(), 1000));
    }

    /** Creates (or truncates) a raw s16le PCM file for PCM in {@code format}. */
    public static PcmFile rawPcm(Path file, PcmFormat format) {
        return new PcmFile(new RawPcmWriter(file, format.getSampleRate(), format.getChannels(), 1000));
    }

    /**
     * The Opus packets of a single-stream Ogg Opus file, in order (headers excluded). Throws
     * {@code MalformedOggException} for a file that is not well-formed Ogg Opus.
     */
    public static List<byte[]> readOggOpusPackets(Path file) {
        return OggOpusReader.INSTANCE.read(file).getPackets();
    }
}
