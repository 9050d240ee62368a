package dev.earshot.voice.transcribe

/** A cue read back from a WebVTT or SRT file: times in milliseconds, the text line(s). */
data class Cue(val startMs: Long, val endMs: Long, val text: String)

/**
 * A strict reader of the subset of WebVTT the files use: the `WEBVTT` signature line, a blank line, then blocks of
 * `HH:MM:SS.mmm --> HH:MM:SS.mmm` and one text line, each ended by a blank line. Throws on anything else, on an end
 * before its start, and on a start before the previous cue's start (WebVTT requires cues in start order).
 */
fun parseVtt(content: String): List<Cue> {
    require(content.startsWith("WEBVTT\n\n")) { "no WEBVTT signature" }
    return parseBlocks(content.removePrefix("WEBVTT\n\n"), numbered = false, separator = '.')
}

/** The same for SubRip: a block is a counter (1, 2, ...), `HH:MM:SS,mmm --> HH:MM:SS,mmm`, one text line, a blank line. */
fun parseSrt(content: String): List<Cue> = parseBlocks(content, numbered = true, separator = ',')

private val TIME = Regex("""(\d{2}):(\d{2}):(\d{2})([.,])(\d{3})""")

private fun parseBlocks(body: String, numbered: Boolean, separator: Char): List<Cue> {
    if (body.isEmpty()) return emptyList()
    require(body.endsWith("\n\n")) { "the last cue is not ended by a blank line" }
    val cues = ArrayList<Cue>()
    for ((i, block) in body.removeSuffix("\n\n").split("\n\n").withIndex()) {
        val lines = block.split("\n")
        var k = 0
        if (numbered) {
            require(lines[k++] == "${i + 1}") { "cue ${i + 1}: bad counter '${lines[0]}'" }
        }
        require(lines.size == k + 2) { "cue ${i + 1}: expected a timing line and one text line, got $lines" }
        val timing = lines[k].split(" --> ")
        require(timing.size == 2) { "cue ${i + 1}: bad timing line '${lines[k]}'" }
        val (start, end) = timing.map { ms(it, separator) }
        require(end >= start) { "cue ${i + 1}: ends before it starts" }
        require(cues.isEmpty() || start >= cues.last().startMs) { "cue ${i + 1}: starts before the previous cue" }
        require(lines[k + 1].isNotBlank() && "-->" !in lines[k + 1]) { "cue ${i + 1}: bad text" }
        cues += Cue(start, end, lines[k + 1])
    }
    return cues
}

private fun ms(s: String, separator: Char): Long {
    val m = TIME.matchEntire(s) ?: throw IllegalArgumentException("bad time '$s'")
    require(m.groupValues[4][0] == separator) { "bad separator in '$s'" }
    val (h, min, sec) = m.destructured
    require(min.toInt() < 60 && sec.toInt() < 60) { "bad time '$s'" }
    return ((h.toLong() * 60 + min.toLong()) * 60 + sec.toLong()) * 1000 + m.groupValues[5].toLong()
}
