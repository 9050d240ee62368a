package dev.earshot.voice.udp

/**
 * Parses IP address literals without ever resolving a name: what the voice server sends as its address (Ready `ip`)
 * and as ours (the IP discovery response) must be a literal, and `InetAddress.getByName` would look a name up in DNS.
 *
 * Accepted: an IPv4 dotted quad of four decimal octets 0..255 without leading zeros (`010` is octal to some parsers,
 * so it is refused rather than guessed), or an IPv6 address in RFC 4291 §2.2 text form (one to four hex digits per
 * group, at most one `::`, optionally ending in a dotted quad). Refused: names, brackets, zone ids (`%eth0`),
 * prefixes (`/64`), and anything longer than 45 characters.
 */
internal object IpLiteral {
    private const val MAX_LENGTH = 45 // "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"

    /** The 4 (IPv4) or 16 (IPv6) address bytes of [text], or null when it is not a literal address. */
    fun parse(text: String): ByteArray? {
        if (text.isEmpty() || text.length > MAX_LENGTH) return null
        return if (':' in text) parseIpv6(text) else parseIpv4(text, 0, text.length)
    }

    /** Whether [text] is a literal IPv4 or IPv6 address. */
    fun isLiteral(text: String): Boolean = parse(text) != null

    private fun parseIpv4(s: String, from: Int, to: Int): ByteArray? {
        val out = ByteArray(4)
        var part = 0
        var i = from
        while (part < 4) {
            val start = i
            var value = 0
            while (i < to && s[i] in '0'..'9' && i - start < 3) {
                value = value * 10 + (s[i] - '0')
                i++
            }
            val digits = i - start
            if (digits == 0 || value > 255 || (digits > 1 && s[start] == '0')) return null
            out[part++] = value.toByte()
            if (part < 4) {
                if (i >= to || s[i] != '.') return null
                i++
            }
        }
        return if (i == to) out else null
    }

    private fun parseIpv6(s: String): ByteArray? {
        val out = ByteArray(16)
        // Groups before and after "::", as 16-bit values; a trailing dotted quad adds two.
        val head = ArrayList<Int>(8)
        val tail = ArrayList<Int>(8)
        var compressed = false
        var i = 0
        val n = s.length
        if (s.startsWith("::")) {
            compressed = true
            i = 2
            if (i == n) return out // "::"
        } else if (s[0] == ':') {
            return null
        }
        while (i < n) {
            val groups = if (compressed) tail else head
            // A dotted quad may end the address.
            val nextColon = s.indexOf(':', i).let { if (it < 0) n else it }
            if (nextColon == n && s.indexOf('.', i) >= 0) {
                val v4 = parseIpv4(s, i, n) ?: return null
                groups += ((v4[0].toInt() and 0xFF) shl 8) or (v4[1].toInt() and 0xFF)
                groups += ((v4[2].toInt() and 0xFF) shl 8) or (v4[3].toInt() and 0xFF)
                i = n
                break
            }
            val len = nextColon - i
            if (len !in 1..4) return null
            var value = 0
            for (k in i until nextColon) {
                val d = Character.digit(s[k], 16)
                if (d < 0 || s[k].code > 0x7F) return null
                value = (value shl 4) or d
            }
            groups += value
            i = nextColon
            if (i == n) break
            // At a colon: "::" compresses (once), a single colon separates, and the address may not end in one.
            if (i + 1 < n && s[i + 1] == ':') {
                if (compressed) return null
                compressed = true
                i += 2
            } else {
                i += 1
                if (i == n) return null
            }
        }
        val count = head.size + tail.size
        if (compressed) {
            if (count > 7) return null
        } else if (count != 8) {
            return null
        }
        for ((k, g) in head.withIndex()) {
            out[2 * k] = (g ushr 8).toByte()
            out[2 * k + 1] = g.toByte()
        }
        val offset = 8 - tail.size
        for ((k, g) in tail.withIndex()) {
            out[2 * (offset + k)] = (g ushr 8).toByte()
            out[2 * (offset + k) + 1] = g.toByte()
        }
        return out
    }
}
