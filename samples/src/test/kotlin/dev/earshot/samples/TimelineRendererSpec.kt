package dev.earshot.samples

import dev.earshot.voice.model.AudioFrame
import dev.earshot.voice.model.FrameKind
import dev.earshot.voice.model.VoiceTick
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldHaveSize
import io.kotest.matchers.ints.shouldBeGreaterThan
import io.kotest.matchers.shouldBe
import io.kotest.matchers.shouldNotBe
import java.awt.image.BufferedImage
import java.nio.file.Files
import javax.imageio.ImageIO
import kotlin.random.Random

class TimelineRendererSpec : FunSpec({
    fun frame(user: Long?, tick: Long, kind: FrameKind) =
        AudioFrame(ssrc = (user ?: 7) + 10_000, userId = user, tick = tick, sequence = tick.toInt(), rtpTimestamp = tick * 960, pcm = null, opus = null, kind = kind)

    /** Feeds [ticks] ticks from [start] to a recorder; [kindOf] says what (if anything) each user has in each tick. */
    suspend fun record(start: Long, ticks: Int, users: List<Long?>, kindOf: (Long?, Int) -> FrameKind?): TimelineRecorder {
        val recorder = TimelineRecorder()
        for (i in 0 until ticks) {
            val t = start + i
            recorder.onTick(VoiceTick(t, users.mapNotNull { u -> kindOf(u, i)?.let { frame(u, t, it) } }, emptySet()))
        }
        return recorder
    }

    fun BufferedImage.rgb(x: Int, y: Int) = getRGB(x, y) and 0xFFFFFF

    test("every glyph the font claims renders, and no two look alike") {
        val glyphs = BitmapFont.characters.associateWith { c -> BitmapFont.glyph(c).joinToString("/") { row -> row.joinToString("") { if (it) "#" else "." } } }
        for ((c, g) in glyphs) if (c != ' ') (g.count { it == '#' } > 0) shouldBe true
        glyphs.getValue(' ').count { it == '#' } shouldBe 0
        glyphs.values.toSet() shouldHaveSize glyphs.size
        // Digits, capitals and the symbols the timeline draws are all there.
        for (c in ('0'..'9') + ('A'..'Z') + listOf('(', ')', '-', '.', ' ')) BitmapFont.supports(c) shouldBe true
        BitmapFont.supports('a') shouldBe true
        BitmapFont.supports('~') shouldBe false
    }

    test("drawing puts exactly the glyph's pixels, scaled, inside width x height; lower case as capitals, unknown as '?'") {
        for (scale in 1..3) for (c in BitmapFont.characters) {
            val img = BufferedImage(BitmapFont.width("$c", scale) + 4, BitmapFont.height(scale) + 4, BufferedImage.TYPE_INT_RGB)
            BitmapFont.draw(img, "$c", 2, 2, 0xFFFFFF, scale)
            val glyph = BitmapFont.glyph(c)
            for (y in 0 until img.height) for (x in 0 until img.width) {
                val gx = (x - 2).floorDiv(scale)
                val gy = (y - 2).floorDiv(scale)
                val expected = gx in 0 until BitmapFont.WIDTH && gy in 0 until BitmapFont.HEIGHT && glyph[gy][gx]
                (img.rgb(x, y) == 0xFFFFFF) shouldBe expected
            }
        }
        fun pixels(text: String): List<Int> {
            val img = BufferedImage(BitmapFont.width(text), BitmapFont.HEIGHT, BufferedImage.TYPE_INT_RGB)
            BitmapFont.draw(img, text, 0, 0, 0xFFFFFF)
            return (0 until img.height).flatMap { y -> (0 until img.width).map { x -> img.rgb(x, y) } }
        }
        pixels("alice 42") shouldBe pixels("ALICE 42")
        pixels("~") shouldBe pixels("?")
        BitmapFont.width("AB", 2) shouldBe (2 * BitmapFont.ADVANCE - 1) * 2
    }

    test("the recorder keeps one mark per user and tick from the first tick it saw, users in first-spoken order") {
        val kinds = listOf(FrameKind.DECODED, FrameKind.FEC_RECOVERED, FrameKind.CONCEALED)
        val random = Random(3)
        val plan = HashMap<Pair<Long, Int>, FrameKind>()
        val recorder = record(500, 120, listOf(2L, 1L, null)) { u, i ->
            if (u == null) FrameKind.DECODED // frames without a user are not attributed
            else if ((u == 2L && i < 10) || random.nextInt(3) == 0) null
            else kinds[random.nextInt(3)].also { plan[u to i] = it }
        }
        val t = recorder.snapshot()
        t.startTick shouldBe 500
        t.ticks shouldBe 120
        t.users shouldBe listOf(1L, 2L) // 2 first spoke at tick 10, 1 earlier
        recorder.snapshot(preferredOrder = listOf(2L, 99L)).users shouldBe listOf(2L, 1L)
        for (u in listOf(1L, 2L)) for (i in 0 until 120) t.mark(u, i) shouldBe (plan[u to i]?.let(Mark::of) ?: Mark.NONE)
        t.mark(3L, 0) shouldBe Mark.NONE
        t.mark(1L, 500) shouldBe Mark.NONE
    }

    test("one tick per column: a user's bars are exactly their ticks with frames, in the shade of the frame's kind") {
        val random = Random(11)
        val users = listOf(1001L, 1002L, 1003L)
        val recorder = record(40, 400, users) { u, i ->
            when {
                u == 1003L && i !in 100..180 -> null
                random.nextInt(4) == 0 -> null
                else -> listOf(FrameKind.DECODED, FrameKind.DECODED, FrameKind.FEC_RECOVERED, FrameKind.CONCEALED)[random.nextInt(4)]
            }
        }
        val t = recorder.snapshot(users)
        val layout = TimelineLayout(t, listOf("ALICE (1001)", "BOB (1002)", "1003"))
        val file = Files.createTempFile("timeline", ".png")
        TimelineRenderer.writePng(layout, file)
        val img = ImageIO.read(file.toFile())
        img.width shouldBe layout.width
        img.height shouldBe layout.height
        layout.ticksPerColumn shouldBe 1
        layout.columns shouldBe 400
        layout.rowCount shouldBe 3
        for ((row, user) in t.users.withIndex()) {
            val bars = layout.barRows(row)
            for (c in 0 until layout.columns) {
                val mark = t.mark(user, c)
                for (y in bars) img.rgb(layout.x(c), y) shouldBe TimelineRenderer.colorOf(mark)
                // Between the bars of two rows there is only background.
                img.rgb(layout.x(c), layout.rowTop(row)) shouldBe TimelineRenderer.BACKGROUND
            }
            // The label is drawn in the row, left of the plot.
            val labelPixels = (layout.rowTop(row) until layout.rowTop(row) + TimelineLayout.ROW_HEIGHT).sumOf { y ->
                (0 until layout.plotLeft).count { x -> img.rgb(x, y) == TimelineRenderer.TEXT }
            }
            labelPixels shouldBeGreaterThan 20
        }
        // Nothing right of the plot, and a mark on the axis every second (50 ticks): 0..8 s.
        layout.secondMarks().map { it.first } shouldBe (0..8).map { it * 50 }
        for ((c, _) in layout.secondMarks()) img.rgb(layout.x(c), layout.axisTop + 1) shouldBe TimelineRenderer.AXIS
        img.rgb(layout.x(25), layout.axisTop + 1) shouldBe TimelineRenderer.BACKGROUND
    }

    test("long recordings: several ticks per column, a bar where any of them had a frame, shaded by the most common kind") {
        val ticks = TimelineLayout.MAX_PLOT_WIDTH * 3 + 7
        val recorder = record(0, ticks, listOf(5L)) { _, i ->
            when (i % 9) {
                0, 1, 2 -> FrameKind.CONCEALED // ticks 0..2 of every 9
                3 -> FrameKind.DECODED
                else -> null
            }
        }
        val t = recorder.snapshot()
        val layout = TimelineLayout(t, listOf("5"))
        layout.ticksPerColumn shouldBe 4
        layout.columns shouldBe (ticks + 3) / 4
        val img = TimelineRenderer.render(layout)
        val y = layout.barRows(0).first
        for (c in 0 until layout.columns) {
            val range = layout.ticksOf(c)
            val marks = range.map { t.mark(5, it) }.filter { it != Mark.NONE }
            val expected = if (marks.isEmpty()) Mark.NONE else marks.groupingBy { it }.eachCount().entries
                .sortedWith(compareBy({ it.value }, { it.key.ordinal })).last().key
            layout.markAt(0, c) shouldBe expected
            img.rgb(layout.x(c), y) shouldBe TimelineRenderer.colorOf(expected)
        }
        // A column with one decoded and one concealed tick takes the more degraded.
        TimelineLayout(record(0, 2 * TimelineLayout.MAX_PLOT_WIDTH + 2, listOf(5L)) { _, i ->
            if (i < 2) listOf(FrameKind.DECODED, FrameKind.CONCEALED)[i] else null
        }.snapshot(), listOf("5")).markAt(0, 0) shouldBe Mark.CONCEALED
    }

    test("an empty recording still draws (no rows, an axis)") {
        val layout = TimelineLayout(TimelineRecorder().snapshot(), emptyList())
        val img = TimelineRenderer.render(layout)
        img.width shouldNotBe 0
        layout.rowCount shouldBe 0
    }
})
