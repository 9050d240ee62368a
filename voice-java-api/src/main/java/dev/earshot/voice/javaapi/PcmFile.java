package dev.earshot.voice.javaapi;

import dev.earshot.voice.files.PcmFileWriter;

import java.nio.file.Path;

/**
 * A PCM file being written (WAV or raw s16le), from {@link AudioFiles}: blocking, for one thread at a time. Flushes
 * every second of audio (a WAV's header is rewritten then), so a killed process leaves a file valid to that point.
 * I/O failures throw {@code AudioFileException} (an {@link java.io.UncheckedIOException}-like
 * {@link java.io.IOException} subclass, thrown unchecked).
 */
public final class PcmFile implements AutoCloseable {
    private final PcmFileWriter core;

    PcmFile(PcmFileWriter core) {
        this.core = core;
    }

    /** The file. */
    public Path path() {
        return core.getPath();
    }

    /** Samples per channel written so far. */
    public long samplesWritten() {
        return core.getSamplesWritten();
    }

    /** Appends interleaved samples. */
    public void write(short[] pcm) {
        core.write(pcm, 0, pcm.length);
    }

    /** Appends {@code length} interleaved samples of {@code pcm} from {@code offset}. */
    public void write(short[] pcm, int offset, int length) {
        core.write(pcm, offset, length);
    }

    /** Appends {@code samples} samples per channel of silence without an array. */
    public void writeSilence(int samples) {
        core.writeSilence(samples);
    }

    /** Forces what was written to the device (and rewrites a WAV header). */
    public void flush() {
        core.flush();
    }

    /** Flushes and closes. */
    @Override
    public void close() {
        core.close();
    }
}
