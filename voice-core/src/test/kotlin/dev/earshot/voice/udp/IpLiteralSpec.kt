package dev.earshot.voice.udp

import io.kotest.core.spec.style.FunSpec
import io.kotest.datatest.withData
import io.kotest.matchers.shouldBe
import java.net.InetAddress

class IpLiteralSpec : FunSpec({
    // The JDK parses literals without DNS, so it is the reference for the bytes of valid ones.
    withData(
        nameFn = { "literal $it" },
        "0.0.0.0", "1.2.3.4", "255.255.255.255", "10.0.0.1", "::", "::1", "1::", "2001:db8::1", "2001:DB8:0:0:8:800:200C:417A",
        "fe80::1:2:3:4", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "::ffff:192.0.2.128", "64:ff9b::192.0.2.33",
        "1:2:3:4:5:6:1.2.3.4", "0:0:0:0:0:0:0:0",
    ) { text ->
        IpLiteral.parse(text)!!.toList() shouldBe InetAddress.getByName(text).address.let {
            // The JDK turns IPv4-mapped IPv6 into IPv4; compare in the 16-byte form then.
            if (it.size == 4 && ':' in text) (ByteArray(10) + byteArrayOf(-1, -1) + it).toList() else it.toList()
        }
    }

    withData(
        nameFn = { "not a literal: '$it'" },
        "", "localhost", "discord.media", "1.2.3", "1.2.3.4.5", "1.2.3.4.", ".1.2.3.4", "01.2.3.4", "1.2.3.04", "256.1.1.1",
        "1.2.3.-4", "1.2.3.4 ", " 1.2.3.4", "1..2.3", "0x7f.0.0.1", "127.1", "2130706433", "١.٢.٣.٤",
        ":", ":::", "1:", ":1", "1:2", "1::2::3", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8",
        "12345::", "g::1", "[::1]", "::1%eth0", "::1/128", "1.2.3.4::", "::1.2.3", "::256.1.1.1", "1:2:3:4:5:6:7:1.2.3.4",
        "::ffff:1.2.3.4:5", "a".repeat(46), "1:2:3:4:5:6:7:8".padEnd(46, '0'),
    ) { text ->
        IpLiteral.parse(text) shouldBe null
    }
})
