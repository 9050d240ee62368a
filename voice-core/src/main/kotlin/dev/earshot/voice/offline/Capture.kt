package dev.earshot.voice.offline

import dev.earshot.voice.base.NanoClock
import dev.earshot.voice.datagram.DatagramSource
import java.io.BufferedInputStream
import java.io.BufferedOutputStream
import java.io.DataInputStream
import java.io.DataOutputStream
import java.io.EOFException
import java.nio.file.Files
import java.nio.file.Path
import java.time.Instant

/**
 * Writes received datagrams with their arrival times to a capture file, for [OfflineReceiver.replay]. The format:
 * the 8 bytes `ESCAP001`, the start time (epoch seconds as a big-endian Long, nanoseconds as an Int), then one record
 * per datagram: nanoseconds since the start (Long), length (Int, at most 65535), the bytes; a last record with
 * length -1 marks when the source ended ([end]). Datagrams stay encrypted,
 * so a capture is only as sensitive as the key kept beside it. Thread-safe; buffered, flushed by [close].
 *
 * @param startedAt the moment the capture (and the receiver reading it) started; replay's virtual time 0.
 */
public class CaptureWriter(path: Path, public val startedAt: Instant) : AutoCloseable {
    private val out = DataOutputStream(BufferedOutputStream(Files.newOutputStream(path), 1 shl 16))

    init {
        out.write(MAGIC)
        out.writeLong(startedAt.epochSecond)
        out.writeInt(startedAt.nano)
    }

    /** Appends `bytes[offset until offset + length]`, received [sinceStartNanos] after [startedAt]. */
    public fun write(sinceStartNanos: Long, bytes: ByteArray, offset: Int = 0, length: Int = bytes.size): Unit = synchronized(this) {
        require(length in 0..MAX_DATAGRAM) { "a datagram has at most $MAX_DATAGRAM bytes" }
        out.writeLong(sinceStartNanos)
        out.writeInt(length)
        out.write(bytes, offset, length)
    }

    /** Records that the source ended [sinceStartNanos] after [startedAt] (once; later datagrams are not expected). */
    public fun end(sinceStartNanos: Long): Unit = synchronized(this) {
        out.writeLong(sinceStartNanos)
        out.writeInt(END)
    }

    override fun close(): Unit = synchronized(this) { out.close() }

    internal companion object {
        val MAGIC = "ESCAP001".toByteArray(Charsets.US_ASCII)
        const val MAX_DATAGRAM = 65_535
        const val END = -1
    }
}

/**
 * Reads a file written by [CaptureWriter]. Bad input never throws from [datagrams]: a truncated or corrupt record
 * ends the sequence there and sets [truncated]; a file that is not a capture fails at construction with
 * [IllegalArgumentException].
 */
public class CaptureReader(path: Path) : AutoCloseable {
    private val input = DataInputStream(BufferedInputStream(Files.newInputStream(path), 1 shl 16))

    /** The capture's start: replay's virtual time 0. */
    public val startedAt: Instant

    /** When the captured source ended, once [datagrams] has read that far; null if the capture does not say. */
    @Volatile
    public var endedAt: Instant? = null
        private set

    /** Whether [datagrams] stopped at a truncated or corrupt record rather than at the end of the file. */
    @Volatile
    public var truncated: Boolean = false
        private set

    init {
        try {
            val magic = ByteArray(CaptureWriter.MAGIC.size)
            input.readFully(magic)
            require(magic.contentEquals(CaptureWriter.MAGIC)) { "$path is not an Earshot capture" }
            startedAt = Instant.ofEpochSecond(input.readLong(), input.readInt().toLong().coerceIn(0, 999_999_999))
        } catch (e: EOFException) {
            input.close()
            throw IllegalArgumentException("$path is too short for an Earshot capture", e)
        } catch (e: IllegalArgumentException) {
            input.close()
            throw e
        }
    }

    /** The datagrams in file order, read lazily; iterate once. */
    public fun datagrams(): Sequence<TimedDatagram> = sequence {
        while (true) {
            val since: Long
            val length: Int
            try {
                since = input.readLong()
            } catch (e: EOFException) {
                return@sequence
            }
            try {
                length = input.readInt()
                if (length == CaptureWriter.END) {
                    endedAt = startedAt.plusNanos(since)
                    return@sequence
                }
                if (length !in 0..CaptureWriter.MAX_DATAGRAM) {
                    truncated = true
                    return@sequence
                }
                val bytes = ByteArray(length)
                input.readFully(bytes)
                yield(TimedDatagram(startedAt.plusNanos(since), bytes))
            } catch (e: EOFException) {
                truncated = true
                return@sequence
            }
        }
    }

    override fun close() {
        input.close()
    }
}

/**
 * A [DatagramSource] that records what it passes on from [source] to [writer], stamped with [clock] (the
 * receiver's clock: give the same `ReceiveConfig.clock`) relative to its reading when this object was made, which
 * corresponds to [CaptureWriter.startedAt]. Make it, and start the receiver, right after the writer.
 */
public class CapturingDatagramSource(
    private val source: DatagramSource,
    private val writer: CaptureWriter,
    private val clock: NanoClock = NanoClock.SYSTEM,
) : DatagramSource {
    private val startNanos = clock.nanoTime()
    private var ended = false

    override fun poll(buffer: ByteArray): Int {
        val n = source.poll(buffer)
        if (n >= 0) writer.write(clock.nanoTime() - startNanos, buffer, 0, minOf(n, buffer.size))
        if (n == DatagramSource.CLOSED && !ended) {
            // The end is part of the capture: the receiver plays out from that moment, so a replay must too.
            ended = true
            writer.end(clock.nanoTime() - startNanos)
        }
        return n
    }

    override suspend fun awaitReadable() {
        source.awaitReadable()
    }
}
