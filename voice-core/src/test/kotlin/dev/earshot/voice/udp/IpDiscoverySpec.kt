package dev.earshot.voice.udp

import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.datatest.withData
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.test.currentTime
import kotlinx.coroutines.test.runTest
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeout
import java.net.DatagramPacket
import java.net.DatagramSocket
import java.net.InetSocketAddress
import java.net.SocketTimeoutException
import java.util.concurrent.CopyOnWriteArrayList
import kotlin.concurrent.thread
import kotlin.random.Random
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds

private const val SSRC = 0xCAFEF00DL

/** An RTP-looking datagram, as early audio that can arrive before the discovery response. */
private val EARLY_RTP = ByteArray(60) { if (it == 0) 0x80.toByte() else if (it == 1) 0x78 else it.toByte() }

class IpDiscoverySpec : FunSpec({

    context("request") {
        test("is 74 bytes: type 1, length 70, the SSRC big-endian, then zeros") {
            val r = IpDiscovery.request(SSRC)
            r.size shouldBe 74
            r.copyOfRange(0, 8).toList() shouldContainExactly
                listOf(0x00, 0x01, 0x00, 0x46, 0xCA, 0xFE, 0xF0, 0x0D).map { it.toByte() }
            r.copyOfRange(8, 74).all { it == 0.toByte() } shouldBe true
        }

        test("rejects an SSRC that is not unsigned 32-bit") {
            IpDiscovery.request(0xFFFF_FFFFL)[7] shouldBe 0xFF.toByte()
            shouldThrow<IllegalArgumentException> { IpDiscovery.request(-1) }
            shouldThrow<IllegalArgumentException> { IpDiscovery.request(0x1_0000_0000L) }
        }
    }

    context("parseResponse") {
        test("reads the NUL-terminated address and the big-endian port") {
            val r = discoveryResponse("203.0.113.77", 50_321)
            IpDiscovery.parseResponse(r, r.size) shouldBe DiscoveredAddress("203.0.113.77", 50_321)
            val max = discoveryResponse("255.255.255.255", 65_535)
            IpDiscovery.parseResponse(max, 74) shouldBe DiscoveredAddress("255.255.255.255", 65_535)
            val v6 = discoveryResponse("2001:db8::1", 1)
            IpDiscovery.parseResponse(v6, 74) shouldBe DiscoveredAddress("2001:db8::1", 1)
        }

        test("reads from a larger buffer, as the socket reader's") {
            val buffer = discoveryResponse("198.51.100.2", 4000).copyOf(2048)
            IpDiscovery.parseResponse(buffer, 74) shouldBe DiscoveredAddress("198.51.100.2", 4000)
        }

        val good = discoveryResponse("198.51.100.2", 4000)
        withData(
            mapOf(
                "the request (type 1)" to (IpDiscovery.request(SSRC) to 74),
                "type 3" to (discoveryResponse("198.51.100.2", 4000, type = 3) to 74),
                "length field 71" to (discoveryResponse("198.51.100.2", 4000, lengthField = 71) to 74),
                "73 bytes" to (good to 73),
                "75 bytes" to (good.copyOf(75) to 75),
                "length beyond the buffer" to (good.copyOf(70) to 74),
                "no NUL after the address" to (discoveryResponse("198.51.100.2", 4000, terminate = false) to 74),
                "empty address" to (discoveryResponse("", 4000) to 74),
                "address not an IP" to (discoveryResponse("discord.gg", 4000) to 74),
                "IPv4 octet above 255" to (discoveryResponse("198.51.100.256", 4000) to 74),
                "three octets" to (discoveryResponse("198.51.100", 4000) to 74),
                "IPv4 with a leading zero (octal to some parsers)" to (discoveryResponse("198.051.100.2", 4000) to 74),
                "colons only" to (discoveryResponse(":::", 4000) to 74),
                "IPv6 with too few groups" to (discoveryResponse("1:2", 4000) to 74),
                "IPv6 with two '::'" to (discoveryResponse("1::2::3", 4000) to 74),
                "IPv6 group of five digits" to (discoveryResponse("2001:db8::12345", 4000) to 74),
                "IPv6 dots in the wrong place" to (discoveryResponse("1.2::3", 4000) to 74),
                "port 0" to (discoveryResponse("198.51.100.2", 0) to 74),
                "early RTP" to (EARLY_RTP to EARLY_RTP.size),
                "empty datagram" to (ByteArray(0) to 0),
                "negative length" to (good to -1),
            ),
        ) { (bytes, length) ->
            IpDiscovery.parseResponse(bytes, length) shouldBe null
        }

        test("never throws on random 74-byte datagrams with the response header") {
            val random = Random(7)
            repeat(20_000) {
                val b = random.nextBytes(74)
                b[0] = 0; b[1] = 2; b[2] = 0; b[3] = 70
                // Parsing garbage may succeed only with a well-formed address and port.
                IpDiscovery.parseResponse(b, 74)?.let { a -> (a.port in 1..65535) shouldBe true }
            }
        }
    }

    context("discover, in virtual time against a fake socket") {
        test("sends one request and returns the first valid response") {
            runTest {
                val t = FakeTransport { currentTime }
                t.onSend = { _, _ -> launch { delay(30); t.incoming.offer(discoveryResponse("192.0.2.1", 61_000, SSRC)) } }
                IpDiscovery.discover(t, SSRC) shouldBe DiscoveredAddress("192.0.2.1", 61_000)
                currentTime shouldBe 30
                t.sends.map { it.at } shouldContainExactly listOf(0L)
                t.sends.single().bytes.contentEquals(IpDiscovery.request(SSRC)) shouldBe true
            }
        }

        test("resends after each timeout and takes the answer to the third request") {
            runTest {
                val t = FakeTransport { currentTime }
                t.onSend = { _, n -> if (n == 3) t.incoming.offer(discoveryResponse("192.0.2.1", 61_000)) }
                IpDiscovery.discover(t, SSRC) shouldBe DiscoveredAddress("192.0.2.1", 61_000)
                t.sends.map { it.at } shouldContainExactly listOf(0L, 1000L, 2000L)
                t.sends.all { it.bytes.contentEquals(IpDiscovery.request(SSRC)) } shouldBe true
            }
        }

        test("gives up after the attempts with a message naming attempts, time and address") {
            runTest {
                val t = FakeTransport { currentTime }
                val e = shouldThrow<IpDiscoveryException> { IpDiscovery.discover(t, SSRC) }
                currentTime shouldBe 3000
                t.sends.map { it.at } shouldContainExactly listOf(0L, 1000L, 2000L)
                e.message shouldContain "3 attempt(s)"
                e.message shouldContain "over 3s"
                e.message shouldContain "1s each"
                e.message shouldContain "voice.test"
                e.message shouldContain "50001"
            }
        }

        test("honours a custom timeout and number of attempts") {
            runTest {
                val t = FakeTransport { currentTime }
                val e = shouldThrow<IpDiscoveryException> { IpDiscovery.discover(t, SSRC, 250.milliseconds, 5) }
                t.sends.map { it.at } shouldContainExactly listOf(0L, 250L, 500L, 750L, 1000L)
                currentTime shouldBe 1250
                e.message shouldContain "5 attempt(s) over 1.25s (250ms each)"
            }
        }

        test("ignores early RTP, garbage and malformed responses while it waits") {
            runTest {
                val t = FakeTransport { currentTime }
                t.onSend = { _, _ ->
                    launch {
                        for (junk in listOf(
                            EARLY_RTP, ByteArray(0), IpDiscovery.request(SSRC),
                            discoveryResponse("192.0.2.1", 61_000, terminate = false), discoveryResponse("nonsense", 1),
                            ByteArray(3000) { 2 },
                        )) {
                            t.incoming.offer(junk)
                            delay(100)
                        }
                        t.incoming.offer(discoveryResponse("192.0.2.9", 1234))
                    }
                }
                IpDiscovery.discover(t, SSRC) shouldBe DiscoveredAddress("192.0.2.9", 1234)
                currentTime shouldBe 600
                t.sends.size shouldBe 1
            }
        }

        test("accepts a response to an earlier request that arrives late") {
            runTest {
                val t = FakeTransport { currentTime }
                t.onSend = { _, n -> if (n == 1) launch { delay(1500); t.incoming.offer(discoveryResponse("192.0.2.1", 9)) } }
                IpDiscovery.discover(t, SSRC) shouldBe DiscoveredAddress("192.0.2.1", 9)
                currentTime shouldBe 1500
                t.sends.size shouldBe 2
            }
        }

        test("keeps waiting and retrying when the socket drops a request") {
            runTest {
                val t = FakeTransport { currentTime }
                t.accept = false
                t.onSend = { _, n -> if (n == 2) t.incoming.offer(discoveryResponse("192.0.2.1", 9)) }
                IpDiscovery.discover(t, SSRC) shouldBe DiscoveredAddress("192.0.2.1", 9)
                t.sends.size shouldBe 2
            }
        }

        test("fails at once, saying so, when the socket closes") {
            runTest {
                val t = FakeTransport { currentTime }
                t.onSend = { _, n -> if (n == 2) launch { delay(10); t.incoming.close() } }
                val e = shouldThrow<IpDiscoveryException> { IpDiscovery.discover(t, SSRC) }
                currentTime shouldBe 1010
                e.message shouldContain "closed during attempt 2 of 3"
            }
        }

        test("rejects a non-positive timeout and zero attempts") {
            runTest {
                val t = FakeTransport { currentTime }
                shouldThrow<IllegalArgumentException> { IpDiscovery.discover(t, SSRC, timeout = 0.seconds) }
                shouldThrow<IllegalArgumentException> { IpDiscovery.discover(t, SSRC, attempts = 0) }
                t.sends.size shouldBe 0
            }
        }
    }

    context("discover, over loopback against a tiny discovery server") {
        /**
         * Answers each request it decides to answer with an RTP-looking datagram, a malformed response and then
         * the real one: the address and port it saw the request come from. Records every request.
         */
        class FakeServer(val answer: (Int) -> Boolean) : AutoCloseable {
            val socket = DatagramSocket(InetSocketAddress("127.0.0.1", 0)).apply { soTimeout = 100 }
            val requests = CopyOnWriteArrayList<ByteArray>()
            @Volatile var running = true
            val address: InetSocketAddress get() = socket.localSocketAddress as InetSocketAddress
            private val t = thread(isDaemon = true, name = "fake-discovery-server") {
                val buf = ByteArray(2048)
                while (running) {
                    val p = DatagramPacket(buf, buf.size)
                    try {
                        socket.receive(p)
                    } catch (_: SocketTimeoutException) {
                        continue
                    } catch (_: Exception) {
                        break
                    }
                    requests += buf.copyOf(p.length)
                    if (!answer(requests.size)) continue
                    val from = p.socketAddress
                    fun reply(b: ByteArray) = socket.send(DatagramPacket(b, b.size, from))
                    reply(EARLY_RTP)
                    reply(discoveryResponse("127.0.0.1", p.port, type = 1))
                    reply(discoveryResponse(p.address.hostAddress, p.port, ssrc = 0))
                }
            }

            override fun close() {
                running = false
                t.join()
                socket.close()
            }
        }

        test("finds the socket's own address and port, ignoring the junk before the answer") {
            FakeServer { true }.use { server ->
                UdpSocket.open(server.address).use { socket ->
                    val found = withContext(Dispatchers.IO) { withTimeout(10.seconds) { IpDiscovery.discover(socket, SSRC) } }
                    found shouldBe DiscoveredAddress("127.0.0.1", socket.localAddress.port)
                    server.requests.map { it.toList() } shouldContainExactly listOf(IpDiscovery.request(SSRC).toList())
                    socket.sent shouldBe 1
                }
            }
        }

        test("retries when the server ignores the first request") {
            FakeServer { n -> n >= 2 }.use { server ->
                UdpSocket.open(server.address).use { socket ->
                    val found = withContext(Dispatchers.IO) {
                        withTimeout(10.seconds) { IpDiscovery.discover(socket, SSRC, timeout = 300.milliseconds) }
                    }
                    found.port shouldBe socket.localAddress.port
                    server.requests.size shouldBe 2
                }
            }
        }

        test("throws naming the server's address when nothing answers") {
            FakeServer { false }.use { server ->
                UdpSocket.open(server.address).use { socket ->
                    val e = withContext(Dispatchers.IO) {
                        shouldThrow<IpDiscoveryException> { IpDiscovery.discover(socket, SSRC, 100.milliseconds, 2) }
                    }
                    e.message shouldContain "127.0.0.1:${server.address.port}"
                    e.message shouldContain "2 attempt(s)"
                    server.requests.size shouldBe 2
                }
            }
        }

        test("throws when the socket is closed while it waits") {
            FakeServer { false }.use { server ->
                val socket = UdpSocket.open(server.address)
                val e = withContext(Dispatchers.IO) {
                    launch { delay(50); socket.close() }
                    shouldThrow<IpDiscoveryException> { IpDiscovery.discover(socket, SSRC, 5.seconds, 1) }
                }
                e.message shouldContain "closed during attempt 1 of 1"
            }
        }
    }
})

