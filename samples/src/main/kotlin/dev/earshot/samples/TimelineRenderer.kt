package dev.earshot.samples

import java.awt.image.BufferedImage
import java.nio.file.Files
import java.nio.file.Path
import javax.imageio.ImageIO

/**
 * Where everything of a timeline picture goes: a title band with the legend, one row per user (label on the left,
 * bars to the right), and a time axis with a mark every second. Time runs left to right, [ticksPerColumn] ticks per
 * pixel column: one tick (20 ms) per column up to [MAX_PLOT_WIDTH] columns, more for longer recordings.
 */
class TimelineLayout(val timeline: Timeline, val labels: List<String>) {
    init {
        require(labels.size == timeline.users.size) { "one label per user" }
    }

    val ticksPerColumn: Int = maxOf(1, (timeline.ticks + MAX_PLOT_WIDTH - 1) / MAX_PLOT_WIDTH)
    val columns: Int = (timeline.ticks + ticksPerColumn - 1) / ticksPerColumn
    val labelWidth: Int = (labels.maxOfOrNull { BitmapFont.width(it, LABEL_SCALE) } ?: 0) + GAP
    val plotLeft: Int = MARGIN + labelWidth
    val rowsTop: Int = MARGIN + BitmapFont.height(LABEL_SCALE) + GAP
    val rowCount: Int get() = timeline.users.size
    val axisTop: Int = rowsTop + rowCount * ROW_HEIGHT + 2

    /** The title drawn above the rows. */
    val title: String = "EARSHOT  ${timeline.users.size} USERS  ${"%.1f".format(java.util.Locale.ROOT, timeline.durationMillis / 1000.0)} S"

    /** Where the legend starts, right of the title. */
    val legendLeft: Int = MARGIN + BitmapFont.width(title, LABEL_SCALE) + 3 * GAP
    private val legendWidth: Int = LEGEND.sumOf { (_, name) -> SWATCH + 4 + BitmapFont.width(name, LABEL_SCALE) + 2 * GAP }
    val width: Int = maxOf(plotLeft + maxOf(columns, 1) + MARGIN, legendLeft + legendWidth + MARGIN)
    val height: Int = axisTop + TICK_LENGTH + 2 + BitmapFont.height(AXIS_SCALE) + MARGIN

    /** The first image row of user [row]'s band. */
    fun rowTop(row: Int): Int = rowsTop + row * ROW_HEIGHT

    /** The image rows of user [row]'s bars. */
    fun barRows(row: Int): IntRange = (rowTop(row) + BAR_INSET) until (rowTop(row) + BAR_INSET + BAR_HEIGHT)

    /** The image column of plot column [column]. */
    fun x(column: Int): Int = plotLeft + column

    /** The ticks (indices from the recording's start) that plot column [column] covers. */
    fun ticksOf(column: Int): IntRange = (column * ticksPerColumn) until minOf(timeline.ticks, (column + 1) * ticksPerColumn)

    /**
     * What user [row]'s bar shows in [column]: the mark most of its frames there have (a tie goes to the more
     * degraded), or [Mark.NONE] when the user had no frame in any of its ticks.
     */
    fun markAt(row: Int, column: Int): Mark {
        val user = timeline.users[row]
        val counts = IntArray(Mark.entries.size)
        for (t in ticksOf(column)) counts[timeline.mark(user, t).ordinal]++
        var best = Mark.NONE
        var bestCount = 0
        // Entries run from least to most degraded, so `>=` hands a tie to the more degraded mark.
        for (m in Mark.entries) {
            if (m != Mark.NONE && counts[m.ordinal] > 0 && counts[m.ordinal] >= bestCount) {
                best = m
                bestCount = counts[m.ordinal]
            }
        }
        return best
    }

    /** The plot columns where a new second starts: (column, seconds since the start). */
    fun secondMarks(): List<Pair<Int, Int>> {
        val ticksPerSecond = 1000 / dev.earshot.voice.base.VoiceConstants.FRAME_MS
        return (0..timeline.ticks / ticksPerSecond).map { s -> (s * ticksPerSecond / ticksPerColumn) to s }
            .filter { it.first <= columns }
    }

    companion object {
        /** The widest plot, in pixel columns (30 s at one tick per column). */
        const val MAX_PLOT_WIDTH = 1500
        const val MARGIN = 10
        const val GAP = 10
        const val ROW_HEIGHT = 22
        const val BAR_INSET = 3
        const val BAR_HEIGHT = 16
        const val TICK_LENGTH = 4
        const val SWATCH = 10
        const val LABEL_SCALE = 2
        const val AXIS_SCALE = 1

        /** The legend's entries, in order. */
        val LEGEND: List<Pair<Mark, String>> = listOf(Mark.DECODED to "DECODED", Mark.FEC_RECOVERED to "FEC-RECOVERED", Mark.CONCEALED to "CONCEALED")
    }
}

/**
 * Draws a [Timeline] as a PNG: a row per user, bars where the user's frames were decoded, FEC-recovered or
 * concealed (three shades), a time axis with a mark each second, labels in [BitmapFont]. Runs headless and needs no
 * system fonts.
 */
object TimelineRenderer {
    const val BACKGROUND = 0xFFFFFF
    const val TEXT = 0x202020
    const val AXIS = 0x909090

    /** The colour of the bars of [mark]. */
    fun colorOf(mark: Mark): Int = when (mark) {
        Mark.NONE -> BACKGROUND
        Mark.DECODED -> 0x1F4E79
        Mark.FEC_RECOVERED -> 0x4A90D9
        Mark.CONCEALED -> 0xF0A030
    }

    /** The picture of [layout]. */
    fun render(layout: TimelineLayout): BufferedImage {
        val image = BufferedImage(layout.width, layout.height, BufferedImage.TYPE_INT_RGB)
        fill(image, 0, 0, layout.width, layout.height, BACKGROUND)
        val t = layout.timeline
        // Title and legend.
        BitmapFont.draw(image, layout.title, TimelineLayout.MARGIN, TimelineLayout.MARGIN, TEXT, TimelineLayout.LABEL_SCALE)
        var lx = layout.legendLeft
        for ((mark, name) in TimelineLayout.LEGEND) {
            val top = TimelineLayout.MARGIN + (BitmapFont.height(TimelineLayout.LABEL_SCALE) - TimelineLayout.SWATCH) / 2
            fill(image, lx, top, TimelineLayout.SWATCH, TimelineLayout.SWATCH, colorOf(mark))
            lx += TimelineLayout.SWATCH + 4
            BitmapFont.draw(image, name, lx, TimelineLayout.MARGIN, TEXT, TimelineLayout.LABEL_SCALE)
            lx += BitmapFont.width(name, TimelineLayout.LABEL_SCALE) + TimelineLayout.GAP * 2
        }
        // Rows: label, then a bar column per plot column.
        for (row in t.users.indices) {
            val labelTop = layout.rowTop(row) + (TimelineLayout.ROW_HEIGHT - BitmapFont.height(TimelineLayout.LABEL_SCALE)) / 2
            BitmapFont.draw(image, layout.labels[row], TimelineLayout.MARGIN, labelTop, TEXT, TimelineLayout.LABEL_SCALE)
            val bars = layout.barRows(row)
            for (c in 0 until layout.columns) {
                val mark = layout.markAt(row, c)
                if (mark != Mark.NONE) fill(image, layout.x(c), bars.first, 1, bars.last - bars.first + 1, colorOf(mark))
            }
        }
        // Time axis: a line under the rows, a mark each second, seconds labelled where there is room.
        val axisY = layout.axisTop
        fill(image, layout.plotLeft, axisY, maxOf(layout.columns, 1), 1, AXIS)
        val marks = layout.secondMarks()
        val labelEvery = labelStep(marks)
        for ((column, second) in marks) {
            val x = layout.x(column)
            if (x >= layout.width) continue
            fill(image, x, axisY, 1, TimelineLayout.TICK_LENGTH, AXIS)
            if (second % labelEvery == 0) {
                val text = second.toString()
                val left = (x - BitmapFont.width(text, TimelineLayout.AXIS_SCALE) / 2).coerceAtLeast(layout.plotLeft - 2)
                BitmapFont.draw(image, text, left, axisY + TimelineLayout.TICK_LENGTH + 2, TEXT, TimelineLayout.AXIS_SCALE)
            }
        }
        return image
    }

    /** Writes the picture of [layout] to [path] as a PNG. */
    fun writePng(layout: TimelineLayout, path: Path) {
        Files.createDirectories(path.toAbsolutePath().parent)
        check(ImageIO.write(render(layout), "png", path.toFile())) { "no PNG writer in this JVM" }
    }

    /** Label every n-th second so that labels stay at least 30 pixels apart. */
    private fun labelStep(marks: List<Pair<Int, Int>>): Int {
        if (marks.size < 2) return 1
        val pixelsPerSecond = (marks[1].first - marks[0].first).coerceAtLeast(1)
        for (step in listOf(1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600)) if (pixelsPerSecond * step >= 30) return step
        return 3600
    }

    private fun fill(image: BufferedImage, x: Int, y: Int, w: Int, h: Int, rgb: Int) {
        for (py in maxOf(0, y) until minOf(image.height, y + h)) for (px in maxOf(0, x) until minOf(image.width, x + w)) image.setRGB(px, py, rgb)
    }
}
