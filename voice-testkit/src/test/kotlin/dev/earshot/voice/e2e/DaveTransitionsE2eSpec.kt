package dev.earshot.voice.e2e

import dev.earshot.voice.model.AudioFrame
import dev.earshot.voice.model.FrameKind
import dev.earshot.voice.testkit.ClientSession
import dev.earshot.voice.testkit.DiscordJsMember
import dev.earshot.voice.testkit.FaultConfig
import dev.earshot.voice.testkit.MemberScript
import dev.earshot.voice.testkit.ScriptedMember
import dev.earshot.voice.testkit.TestAudio
import dev.earshot.voice.testkit.TestChannel
import dev.earshot.voice.testkit.TestServerConfig
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.ints.shouldBeGreaterThan
import io.kotest.matchers.longs.shouldBeGreaterThanOrEqual
import io.kotest.matchers.longs.shouldBeLessThanOrEqual
import kotlinx.coroutines.Deferred
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds

private const val GUILD = "111"
private const val CHANNEL = "222"
private const val BOT = "999"
private const val S1 = "5001"
private const val S2 = "5002"
private const val S3 = "5003"
private const val D1 = "6001"
private const val D2 = "6002"

/** 5 % loss and 5 % reorder (by up to 3 packets) on everything the server sends to the listening bot. */
private val BOT_FAULTS = FaultConfig(lossPercent = 5.0, reorderPercent = 5.0, reorderDepth = 3, seed = 14)

/** Frames counted around a transition: from 200 ms before it to 2 s after (by send time). */
private const val WINDOW_BEFORE_NANOS = 200_000_000L
private const val WINDOW_AFTER_NANOS = 2_000_000_000L

/** One member's audio frames as the server saw them sent: (ssrc, sequence, plaintext Opus, send time in nanoTime). */
private class Sent(val userId: String, val ssrc: Long, val sequence: Int, val opus: ByteArray, val atNanos: Long)

/** A transition of the call: what happened and when (System.nanoTime). */
private class Transition(val name: String, val atNanos: Long)

/** What one listener (Earshot, or @discordjs/voice's receiver) made of the scenario. */
private class Outcome(
    val listener: String,
    val transitions: List<Transition>,
    /** Per transition: frames sent by the members then present, not dropped by the network, not received intact. */
    val lostPerTransition: List<Pair<Int, Int>>,
    val lostElsewhere: Int,
    /** Frames lost at the bot's join that a scripted member sent under the epoch that added the bot (exact). */
    val lostAtJoinUnderBotKey: Int,
    /** Frames lost at the bot's join that a discord.js member sent after it reported its switch (approximate). */
    val lostAtJoinAfterReportedSwitch: Int,
    /** Lost frames that reached the server more than 40 ms behind their sender's schedule (see [lateOnWire]). */
    val lostLateOnWire: Int,
    /**
     * Lost frames sent under a key the bot receives (every transition but the bot's join, and at its join a scripted
     * member's frames sent after it switched to the bot's first epoch) that came on time: the target says zero.
     */
    val lostUnexplained: Int,
    /** Ticks Earshot's receive clock produced late (a stall of this shared machine); 0 for the baseline. */
    val lateTicks: Long,
    val e2eeFailures: Long,
    val sentTotal: Int,
    val networkDropped: Int,
    val extra: String,
)

/**
 * The must-show DAVE scenario: five DAVE members (three scripted members on Earshot's own DAVE client, two
 * @discordjs/voice members on davey) speaking at once; the listening bot joins while three of them speak, then one
 * discord.js member and one scripted member join, and one of each leaves. Everything the server sends the bot goes
 * through 5 % loss and 5 % reorder. Ground truth is what the members sent (scripted members record their plaintext;
 * the discord.js members' relayed frames map one to one onto the file they loop). A frame counts as lost when the
 * network delivered it to the listener and the listener did not deliver it intact; frames the network dropped are
 * counted apart. The same scenario runs with Earshot as the bot and with @discordjs/voice's receiver as the bot.
 */
class DaveTransitionsE2eSpec : FunSpec({
    test("five DAVE members joining and leaving under loss and reorder: frames lost per transition, against @discordjs/voice")
        .config(enabledOrReasonIf = { DiscordJsMember.enabledOrReason }, timeout = 240.seconds) {
            val earshot = scenario(earshotListener = true)
            report(earshot)
            val baseline = runCatching { scenario(earshotListener = false) }
            baseline.onSuccess { report(it) }.onFailure { println("DAVE transitions baseline (@discordjs/voice receiver) did not run: $it") }
            // The measurement saw every transition.
            earshot.lostPerTransition.forEach { (_, delivered) -> delivered shouldBeGreaterThan 100 }
            // The target: no frame lost that was sent under a key the bot receives and came on time. A frame can still
            // miss its slot when this shared machine stalls the bot itself, so each tick its clock produced late may
            // cost one; frames the network (here: a stalled sender or server) delivered late are reported apart.
            earshot.lostUnexplained.toLong() shouldBeLessThanOrEqual earshot.lateTicks
            // The frames lost at the bot's join are the ones sent under a key it never receives: failures, counted.
            earshot.e2eeFailures shouldBeGreaterThanOrEqual
                (earshot.lostPerTransition[0].first - earshot.lostAtJoinUnderBotKey - earshot.lostAtJoinAfterReportedSwitch).toLong()
        }
})

private fun report(o: Outcome) {
    val rows = o.transitions.indices.joinToString("; ") { i ->
        "${o.transitions[i].name}: lost ${o.lostPerTransition[i].first} of ${o.lostPerTransition[i].second}"
    }
    println(
        "DAVE transitions [${o.listener}]: $rows; elsewhere lost ${o.lostElsewhere}; of all lost, ${o.lostLateOnWire} came " +
            "late on the wire and ${o.lostUnexplained} were under a key the bot receives and on time " +
            "(late ticks ${o.lateTicks}); sent ${o.sentTotal} audio frames, " +
            "${o.networkDropped} dropped by the network; ${o.extra}",
    )
}

private fun scenario(earshotListener: Boolean): Outcome {
    val speech = TestAudio.stream("speech.opus").packets
    val file = TestAudio.file("speech.opus")
    return E2eHarness(TestServerConfig(tls = true, seed = 14)).use { h ->
        runBlocking {
            val loop = MemberScript { awaitDave(); repeat(6) { play(TestAudio.stream("speech.opus")) }; leave() }
            val transitions = ArrayList<Transition>()
            val s1 = h.channel.addMember(S1, loop)
            val s2 = h.channel.addMember(S2, MemberScript { awaitDave(); repeat(6) { play(TestAudio.stream("speech-nofec.opus")) }; leave() })
            val d1 = DiscordJsMember.start(h.server.grant(GUILD, CHANNEL, D1), play = file, subscribe = emptyList(), extraArgs = listOf("--loop"))
            var d2: DiscordJsMember? = null
            var djsBot: DiscordJsMember? = null
            try {
                awaitTrue("S1, S2 and D1 in one group", { "${h.channel.daveMembers}" }) { h.channel.daveMembers.toSet() == setOf(S1, S2, D1) && !h.channel.isBusy() }
                // The discord.js members' server sessions, kept to read what reached the server and when (after they left).
                val sessions = hashMapOf(D1 to awaitSession(h, D1))
                // Everyone speaks for a second before the bot joins.
                delay(1000)
                // Which key each frame at the bot's join was sent under: a scripted member's frames record how many
                // transitions its session had executed when it encrypted them; a discord.js member is counted as
                // switched from when it reports the transition (davey switches its sender key as soon as it has
                // processed the commit, a little earlier, so this errs towards "under the bot's key"). Frames sent
                // before the switch are under a key the bot never receives.
                val joinStart = System.nanoTime()
                val transitionsBefore = listOf(s1, s2).associate { it.userId to it.daveSession!!.stats().transitions }
                val switchAt = HashMap<String, Long>()
                transitions += Transition("bot joins", joinStart)
                val connection = if (earshotListener) h.connect(this) else null
                if (!earshotListener) {
                    djsBot = DiscordJsMember.start(
                        h.server.grant(GUILD, CHANNEL, BOT), play = null, subscribe = listOf(S1, S2, S3, D1, D2),
                        extraArgs = listOf("--duration", "200000"),
                    )
                }
                val recordings: Map<String, Deferred<List<AudioFrame>>> = if (connection == null) emptyMap() else
                    listOf(S1, S2, S3, D1, D2).associateWith { recordFrames(connection, it.toLong()) }
                val botSession = awaitSession(h, BOT)
                botSession.outbound.recordRtp = true
                botSession.faults = BOT_FAULTS
                awaitTrue("the bot in the group") { BOT in h.channel.daveMembers && !h.channel.isBusy() }
                // How long the join takes depends on the machine's load; its window runs until 2 s after it completed.
                val botInGroupAt = System.nanoTime()
                delay(2500)

                transitions += Transition("discord.js member joins", System.nanoTime())
                d2 = DiscordJsMember.start(h.server.grant(GUILD, CHANNEL, D2), play = file, subscribe = emptyList(), extraArgs = listOf("--loop"))
                awaitTrue("D2 in the group") { D2 in h.channel.daveMembers && !h.channel.isBusy() }
                sessions[D2] = awaitSession(h, D2)
                delay(2500)

                transitions += Transition("scripted member joins", System.nanoTime())
                val s3 = h.channel.addMember(S3, MemberScript { awaitDave(); repeat(6) { play(TestAudio.stream("speech.opus")) }; leave() })
                awaitTrue("S3 in the group") { S3 in h.channel.daveMembers && !h.channel.isBusy() }
                delay(2500)

                transitions += Transition("scripted member leaves", System.nanoTime())
                s1.leave()
                awaitTrue("S1 out of the group") { S1 !in h.channel.daveMembers && !h.channel.isBusy() }
                delay(2500)

                transitions += Transition("discord.js member leaves", System.nanoTime())
                val sentD1 = relayed(h, D1, speech)
                d1.leave()
                awaitTrue("D1 out of the group") { D1 !in h.channel.daveMembers && !h.channel.isBusy() }
                delay(2500)
                val end = System.nanoTime()

                val sentD2 = relayed(h, D2, speech)
                val sent = (scripted(s1) + scripted(s2) + scripted(s3) + sentD1 + sentD2).filter { it.atNanos >= transitions[0].atNanos && it.atNanos < end - 500_000_000L }
                val forwarded = botSession.outbound.forwarded.toSet()
                val dropped = botSession.outbound.faultDropped.toSet()
                // Frames sent before the server forwarded anything to the bot were never the bot's to receive.
                val toBot = sent.filter { (it.ssrc shl 16 or it.sequence.toLong()) in forwarded }
                val delivered = toBot.filter { (it.ssrc shl 16 or it.sequence.toLong()) !in dropped }
                val lost: List<Sent>
                val extra: String
                var lateTicks = 0L
                var e2eeFailures = 0L
                var lostFate: Map<Sent, String> = emptyMap()
                if (connection != null) {
                    val stats = connection.receiver.stats()
                    lateTicks = stats.lateTicks
                    e2eeFailures = stats.e2eeFailures
                    val daveStats = connection.dave?.stats()
                    connection.disconnect()
                    val recorded = recordings.mapValues { (_, d) -> d.await().associateBy { it.sequence } }
                    lost = delivered.filter { s -> recorded[s.userId]?.get(s.sequence)?.let { it.kind == FrameKind.DECODED && it.opus?.contentEquals(s.opus) == true } != true }
                    // What became of each lost frame: the kind of the frame played at its sequence (C concealed, F FEC,
                    // X decoded but different, - nothing played at that sequence).
                    lostFate = lost.associateWith { s ->
                        when (recorded[s.userId]?.get(s.sequence)?.kind) {
                            null -> "-"
                            FrameKind.CONCEALED -> "C"
                            FrameKind.FEC_RECOVERED -> "F"
                            FrameKind.DECODED -> "X"
                            else -> "?"
                        }
                    }
                    extra = "e2eeFailures=${stats.e2eeFailures} held=${stats.heldUnknownSsrc} droppedUnknown=${stats.droppedUnknownSsrc} " +
                        "late=${stats.late} lost=${stats.lost} fec=${stats.fecRecovered} lateTicks=${stats.lateTicks} stretches=${stats.stretches} " +
                        "resyncs=${stats.resyncs} droppedTicks=${stats.droppedTicks} droppedAtLeave=${stats.droppedAtLeave}; $daveStats"
                } else {
                    val djsBot = djsBot!!
                    djsBot.leave(30.seconds)
                    // By content (its output has no sequence numbers), in time order: a sent frame is matched with the
                    // first unmatched received copy of the same plaintext that came after it was sent (within 3 s);
                    // the members loop their files, so the same plaintext recurs every few seconds.
                    val copies = listOf(S1, S2, S3, D1, D2).associateWith { u ->
                        HashMap<List<Byte>, ArrayDeque<Long>>().also { m ->
                            djsBot.receivedTimed(u).forEach { (t, opus) -> m.getOrPut(opus.toList()) { ArrayDeque() }.addLast(t) }
                        }
                    }
                    lost = delivered.sortedBy { it.atNanos }.filter { s ->
                        val q = copies.getValue(s.userId)[s.opus.toList()] ?: return@filter true
                        val sentMs = wallMillis(s.atNanos)
                        while (q.isNotEmpty() && q.first() < sentMs - 50) q.removeFirst()
                        if (q.isNotEmpty() && q.first() <= sentMs + 3000) { q.removeFirst(); false } else true
                    }
                    extra = "discord.js receive errors: ${djsBot.events.count { it.toString().contains("receive-error") }}"
                }
                d1.events.firstOrNull { it["event"].toString() == "\"transitioned\"" && (it["t"].toString().toLongOrNull() ?: 0) > wallMillis(joinStart) }
                    ?.let { e -> switchAt[D1] = e["t"].toString().toLong() * 1_000_000L - clockOffsetNanos }
                val windows = transitions.mapIndexed { i, t ->
                    (t.atNanos - WINDOW_BEFORE_NANOS) until ((if (i == 0) botInGroupAt else t.atNanos) + WINDOW_AFTER_NANOS)
                }
                val atJoin = lost.filter { it.atNanos in windows[0] }
                val members = listOf(s1, s2).associateBy { it.userId }
                // Scripted members record the key of every frame: exact. For a discord.js member only the moment it
                // reported its switch is known, which comes after davey's real switch: approximate, reported apart.
                fun underBotKey(l: Sent): Boolean? = members[l.userId]?.let { m ->
                    (m.transitionsAtSend[l.sequence] ?: 0) > transitionsBefore.getValue(m.userId)
                }
                val keyed = atJoin.count { underBotKey(it) == true }
                fun afterReportedSwitch(l: Sent) = underBotKey(l) == null && switchAt[l.userId]?.let { l.atNanos >= it } == true
                val keyedByReport = atJoin.count { afterReportedSwitch(it) }
                // Each frame's schedule is judged by when the server put it on the wire to the bot, after the faults:
                // a stall of the sender's process or of the server shows there, as network jitter would, and so does
                // a reorder that held a frame past the slack (a frame the faults dropped keeps its forwarding time).
                val forwardedAt = botSession.outbound.forwardedAtNanos
                val transmittedAt = botSession.outbound.transmittedAtNanos
                fun wire(ssrc: Long, sequence: Int, timestamp: Long, silence: Boolean): Wire? {
                    val key = ssrc shl 16 or sequence.toLong()
                    val at = transmittedAt[key] ?: forwardedAt[key]
                    return if (at != null) Wire(ssrc, sequence, timestamp, at, silence) else if (silence) Wire(ssrc, sequence, timestamp, 0, true) else null
                }
                val late = HashSet<Long>()
                for (session in sessions.values) late += lateOnWire(session.received.mapNotNull { wire(it.ssrc, it.sequence, it.timestamp, it.isSilence) })
                for (m in listOf(s1, s2, s3)) late += lateOnWire(m.sent.mapNotNull { wire(m.ssrc, it.sequence, it.timestamp, it.isSilence) })
                fun onTime(l: Sent) = (l.ssrc shl 16 or l.sequence.toLong()) !in late
                // At the bot's join only the scripted members' key per frame is known exactly: a discord.js member's
                // frame sent just after it reported its switch may still be under the old key (CI saw one 2 ms after),
                // so those are reported (keyedByReport), not judged.
                val underKey = lost.filter { l -> l.atNanos !in windows[0] || underBotKey(l) == true }
                Outcome(
                    if (earshotListener) "Earshot" else "@discordjs/voice receiver",
                    transitions,
                    windows.map { w -> lost.count { it.atNanos in w } to delivered.count { it.atNanos in w } },
                    lost.count { s -> windows.none { s.atNanos in it } },
                    keyed,
                    keyedByReport,
                    lost.count { !onTime(it) },
                    underKey.count { onTime(it) },
                    lateTicks,
                    e2eeFailures,
                    toBot.size, toBot.size - delivered.size,
                    extra + "; at the bot's join ${atJoin.size - keyed - keyedByReport} lost were sent before their sender switched to the bot's first epoch, " +
                        "$keyed after (scripted members, exact), $keyedByReport after a discord.js member reported its switch (approximate; its switch reported ${switchAt.mapValues { (_, v) -> (v - joinStart) / 1_000_000 }} ms after the join began)" +
                        "; lost: " + lost.groupBy { it.userId }.map { (u, l) ->
                        "$u at " + l.map { s -> transitions.minBy { Math.abs(s.atNanos - it.atNanos) }.let { t -> "${(s.atNanos - t.atNanos) / 1_000_000}ms/${t.name}(${lostFate[s]?.let { "$it " } ?: ""}#${s.sequence}${if (onTime(s)) "" else " late on the wire"})" } }
                    },
                )
            } finally {
                d1.close()
                d2?.close()
                djsBot?.close()
            }
        }
    }
}

private val clockOffsetNanos = System.currentTimeMillis() * 1_000_000L - System.nanoTime()

/** A `System.nanoTime()` reading as wall-clock milliseconds (what node's `Date.now()` gives). */
private fun wallMillis(nanos: Long): Long = (nanos + clockOffsetNanos) / 1_000_000L

private fun scripted(m: ScriptedMember): List<Sent> =
    m.sent.filter { !it.isSilence }.map { Sent(m.userId, m.ssrc, it.sequence, it.opus, it.sentAtNanos) }

/** A discord.js member's audio frames as the server received them, paired with the file it loops. */
private fun relayed(h: E2eHarness, userId: String, file: List<ByteArray>): List<Sent> {
    val session = h.server.session(GUILD, userId) ?: return emptyList()
    val frames = session.received.filter { !it.isSilence }
    // The pairing holds only if the member sent every frame of the file, in order, each as a DAVE frame: its size is
    // the plaintext's plus DAVE's trailer (8-byte tag, nonce, size byte, magic), so a skipped frame would show.
    val misaligned = frames.indices.count { i -> frames[i].opus.size - file[i % file.size].size !in 11..16 }
    check(misaligned == 0) { "$misaligned of ${frames.size} relayed frames of $userId do not pair with the file" }
    return frames.mapIndexed { i, p -> Sent(userId, p.ssrc, p.sequence, file[i % file.size], p.receivedAtNanos) }
}

private const val LATE_ON_WIRE_NANOS = 40_000_000L

/** One frame of a sender on its way to the bot: when the server sent it (silence frames only mark a pause). */
private class Wire(val ssrc: Long, val sequence: Int, val timestamp: Long, val atNanos: Long, val isSilence: Boolean)

/**
 * The (ssrc shl 16 | sequence) keys of the audio frames in [packets] (one sender's, in order) that the server sent
 * to the bot more than [slackNanos] behind the sender's schedule: later than the most punctual of the 50 frames
 * before it, moved on by the RTP timestamp difference. A stall of this shared machine (the sender's process, or the
 * server) makes a frame late on the wire, as network jitter would. The schedule restarts after silence frames and at a timestamp jump (a player
 * that stops sends silence, and its pauses do not move the timestamp).
 */
private fun lateOnWire(packets: List<Wire>, slackNanos: Long = LATE_ON_WIRE_NANOS): Set<Long> {
    val late = HashSet<Long>()
    val recent = ArrayDeque<Wire>()
    for (p in packets) {
        if (p.isSilence) {
            recent.clear()
            continue
        }
        recent.lastOrNull()?.let { if (Math.abs(tsDiff(p.timestamp, it.timestamp)) > 2 * 48_000) recent.clear() }
        val due = recent.minOfOrNull { q -> q.atNanos + tsDiff(p.timestamp, q.timestamp) * 1_000_000_000L / 48_000 }
        if (due != null && p.atNanos - due > slackNanos) late += p.ssrc shl 16 or p.sequence.toLong()
        recent.addLast(p)
        if (recent.size > 50) recent.removeFirst()
    }
    return late
}

/** [a] - [b] for 32-bit RTP timestamps, signed. */
private fun tsDiff(a: Long, b: Long): Long = ((a - b + (1L shl 31)) and 0xFFFF_FFFFL) - (1L shl 31)

/** A DAVE membership change (proposals to execution) is under way. */
private fun TestChannel.isBusy(): Boolean = dave?.busy == true

private suspend fun awaitSession(h: E2eHarness, userId: String): ClientSession = withTimeout(20.seconds) {
    var s = h.server.session(GUILD, userId)
    while (s == null) {
        delay(2)
        s = h.server.session(GUILD, userId)
    }
    s
}

private suspend fun awaitTrue(what: String, state: () -> String = { "" }, timeout: Duration = 30.seconds, condition: () -> Boolean) {
    try {
        withTimeout(timeout) { while (!condition()) delay(10) }
    } catch (e: Exception) {
        throw AssertionError("timed out waiting for $what ${state()}", e)
    }
}
