package dev.earshot.samples

import dev.earshot.voice.model.ReceiveStats
import dev.earshot.voice.dave.DaveStats
import java.nio.file.Path
import java.util.Locale

/** A file the recording wrote, with its size in bytes when the recording ended. */
data class WrittenFile(val path: Path, val bytes: Long)

/**
 * What the demo prints at the end. Every figure is a library counter read after the connection ended: [stats] from
 * the receiver, [dave] from the DAVE session; the length and the users come from the ticks the recording saw.
 *
 * @property users the users with audio in the recording, in display order.
 * @property names display names where known.
 * @property ticks the recording's length in 20 ms ticks.
 * @property daveProtocol the DAVE protocol version at the end (0 = transport-only), or null without a DAVE session.
 */
class Summary(
    val users: List<Long>,
    val names: Map<Long, String>,
    val ticks: Int,
    val stats: ReceiveStats,
    val dave: DaveStats?,
    val daveProtocol: Int?,
    val files: List<WrittenFile>,
    val interrupted: Boolean,
) {
    /** The recording's length in seconds. */
    val seconds: Double get() = ticks * 0.02

    /** The lines to print. Labels are stable (tests read the figures back by label). */
    fun lines(): List<String> = buildList {
        add("Recording ${if (interrupted) "stopped early" else "finished"}: ${"%.2f".format(Locale.ROOT, seconds)} s, ${users.size} users")
        add(row("users", if (users.isEmpty()) "none spoke" else users.joinToString(", ") { id -> names[id]?.let { "$id ($it)" } ?: "$id" }))
        add(row("seconds", "${"%.2f".format(Locale.ROOT, seconds)} ($ticks ticks of 20 ms)"))
        add(row("packets received", "${stats.rtpAudio} (${stats.decrypted} decrypted, ${stats.decoded} decoded)"))
        add(row("lost", "${stats.lost}"))
        add(row("concealed", "${stats.concealed}"))
        add(row("FEC-recovered", "${stats.fecRecovered}"))
        add(row("late", "${stats.late}"))
        add(row("duplicates", "${stats.duplicates}"))
        val dropped = stats.droppedDatagrams + stats.droppedTicks
        add(row("dropped", "$dropped (${stats.droppedDatagrams} datagrams, ${stats.droppedTicks} ticks)"))
        add(row("DAVE frames", dave?.let { "${it.decrypted} decrypted, ${it.decryptFailures} failed (protocol ${daveProtocol ?: 0}, ${it.transitions} transitions)" } ?: "none (no DAVE session)"))
        add("  files")
        for (f in files) add("    %-${(files.maxOfOrNull { it.path.toString().length } ?: 0)}s  %s".format(Locale.ROOT, f.path, size(f.bytes)))
    }

    private fun row(label: String, value: String) = "  %-17s %s".format(Locale.ROOT, label, value)

    companion object {
        /** [bytes] for people: `812 B`, `41.3 KB`, `2.9 MB` (powers of 1000). */
        fun size(bytes: Long): String = when {
            bytes < 1000 -> "$bytes B"
            bytes < 1_000_000 -> "%.1f KB".format(Locale.ROOT, bytes / 1000.0)
            else -> "%.1f MB".format(Locale.ROOT, bytes / 1_000_000.0)
        }
    }
}
