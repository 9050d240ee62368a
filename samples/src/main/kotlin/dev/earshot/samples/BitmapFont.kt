package dev.earshot.samples

import java.awt.image.BufferedImage

/**
 * A tiny built-in 5x7 pixel font (digits, capital letters, space and a few symbols), drawn pixel by pixel. The PNG
 * timeline uses it instead of `Graphics2D.drawString`, which needs system fonts and fontconfig: a fresh headless
 * machine may have neither, and then drawing text throws. Lower-case letters are drawn as capitals; anything else
 * as `?`.
 */
object BitmapFont {
    /** Glyph width and height in font pixels. */
    const val WIDTH = 5
    const val HEIGHT = 7

    /** Horizontal distance from one glyph to the next, in font pixels (one column of space). */
    const val ADVANCE = WIDTH + 1

    /** Rows of each glyph, top first; `#` is a set pixel. */
    private val GLYPHS: Map<Char, List<String>> = mapOf(
        '0' to g(".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."),
        '1' to g("..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."),
        '2' to g(".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"),
        '3' to g("#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."),
        '4' to g("...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."),
        '5' to g("#####", "#....", "####.", "....#", "....#", "#...#", ".###."),
        '6' to g("..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."),
        '7' to g("#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."),
        '8' to g(".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."),
        '9' to g(".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."),
        'A' to g(".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"),
        'B' to g("####.", "#...#", "#...#", "####.", "#...#", "#...#", "####."),
        'C' to g(".###.", "#...#", "#....", "#....", "#....", "#...#", ".###."),
        'D' to g("###..", "#..#.", "#...#", "#...#", "#...#", "#..#.", "###.."),
        'E' to g("#####", "#....", "#....", "####.", "#....", "#....", "#####"),
        'F' to g("#####", "#....", "#....", "####.", "#....", "#....", "#...."),
        'G' to g(".###.", "#...#", "#....", "#.###", "#...#", "#...#", ".####"),
        'H' to g("#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"),
        'I' to g(".###.", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."),
        'J' to g("..###", "...#.", "...#.", "...#.", "...#.", "#..#.", ".##.."),
        'K' to g("#...#", "#..#.", "#.#..", "##...", "#.#..", "#..#.", "#...#"),
        'L' to g("#....", "#....", "#....", "#....", "#....", "#....", "#####"),
        'M' to g("#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#"),
        'N' to g("#...#", "#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#"),
        'O' to g(".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."),
        'P' to g("####.", "#...#", "#...#", "####.", "#....", "#....", "#...."),
        'Q' to g(".###.", "#...#", "#...#", "#...#", "#.#.#", "#..#.", ".##.#"),
        'R' to g("####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#"),
        'S' to g(".####", "#....", "#....", ".###.", "....#", "....#", "####."),
        'T' to g("#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."),
        'U' to g("#...#", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."),
        'V' to g("#...#", "#...#", "#...#", "#...#", "#...#", ".#.#.", "..#.."),
        'W' to g("#...#", "#...#", "#...#", "#.#.#", "#.#.#", "#.#.#", ".#.#."),
        'X' to g("#...#", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "#...#"),
        'Y' to g("#...#", "#...#", ".#.#.", "..#..", "..#..", "..#..", "..#.."),
        'Z' to g("#####", "....#", "...#.", "..#..", ".#...", "#....", "#####"),
        '.' to g(".....", ".....", ".....", ".....", ".....", ".##..", ".##.."),
        ',' to g(".....", ".....", ".....", ".....", ".##..", "..#..", ".#..."),
        ':' to g(".....", ".##..", ".##..", ".....", ".##..", ".##..", "....."),
        '-' to g(".....", ".....", ".....", "#####", ".....", ".....", "....."),
        '_' to g(".....", ".....", ".....", ".....", ".....", ".....", "#####"),
        '(' to g("...#.", "..#..", ".#...", ".#...", ".#...", "..#..", "...#."),
        ')' to g(".#...", "..#..", "...#.", "...#.", "...#.", "..#..", ".#..."),
        '[' to g(".###.", ".#...", ".#...", ".#...", ".#...", ".#...", ".###."),
        ']' to g(".###.", "...#.", "...#.", "...#.", "...#.", "...#.", ".###."),
        '/' to g(".....", "....#", "...#.", "..#..", ".#...", "#....", "....."),
        '%' to g("##...", "##..#", "...#.", "..#..", ".#...", "#..##", "...##"),
        '#' to g(".#.#.", ".#.#.", "#####", ".#.#.", "#####", ".#.#.", ".#.#."),
        '+' to g(".....", "..#..", "..#..", "#####", "..#..", "..#..", "....."),
        '=' to g(".....", ".....", "#####", ".....", "#####", ".....", "....."),
        '*' to g(".....", "..#..", "#.#.#", ".###.", "#.#.#", "..#..", "....."),
        '!' to g("..#..", "..#..", "..#..", "..#..", "..#..", ".....", "..#.."),
        '?' to g(".###.", "#...#", "....#", "...#.", "..#..", ".....", "..#.."),
        '<' to g("...#.", "..#..", ".#...", "#....", ".#...", "..#..", "...#."),
        '>' to g(".#...", "..#..", "...#.", "....#", "...#.", "..#..", ".#..."),
        '\'' to g("..#..", "..#..", ".#...", ".....", ".....", ".....", "....."),
        ' ' to g(".....", ".....", ".....", ".....", ".....", ".....", "....."),
    )

    /** Every character with a glyph of its own (lower-case letters are drawn with the capitals). */
    val characters: Set<Char> get() = GLYPHS.keys

    /** Whether [c] is drawn as itself (or as its capital). */
    fun supports(c: Char): Boolean = c.uppercaseChar() in GLYPHS

    /** The glyph [c] is drawn with: [HEIGHT] rows of [WIDTH] booleans, true where a pixel is set. */
    fun glyph(c: Char): Array<BooleanArray> {
        val rows = GLYPHS[c.uppercaseChar()] ?: GLYPHS.getValue('?')
        return Array(HEIGHT) { y -> BooleanArray(WIDTH) { x -> rows[y][x] == '#' } }
    }

    /** The width in image pixels of [text] drawn at [scale] (no trailing space). */
    fun width(text: String, scale: Int = 1): Int = if (text.isEmpty()) 0 else (text.length * ADVANCE - 1) * scale

    /** The height in image pixels of a line drawn at [scale]. */
    fun height(scale: Int = 1): Int = HEIGHT * scale

    /**
     * Draws [text] into [image] with its top-left corner at ([x], [y]), each font pixel a [scale] x [scale] square of
     * [rgb]. Pixels outside the image are skipped.
     */
    fun draw(image: BufferedImage, text: String, x: Int, y: Int, rgb: Int, scale: Int = 1) {
        require(scale >= 1) { "scale must be at least 1" }
        var left = x
        for (c in text) {
            val glyph = glyph(c)
            for (gy in 0 until HEIGHT) for (gx in 0 until WIDTH) {
                if (!glyph[gy][gx]) continue
                for (dy in 0 until scale) for (dx in 0 until scale) {
                    val px = left + gx * scale + dx
                    val py = y + gy * scale + dy
                    if (px in 0 until image.width && py in 0 until image.height) image.setRGB(px, py, rgb)
                }
            }
            left += ADVANCE * scale
        }
    }

    private fun g(vararg rows: String): List<String> {
        check(rows.size == HEIGHT && rows.all { it.length == WIDTH }) { "a glyph is $HEIGHT rows of $WIDTH" }
        return rows.toList()
    }
}
