package dev.earshot.voice.testkit

import dev.earshot.voice.dave.JvmDaveSession
import dev.earshot.voice.rtp.HeaderExtensions
import dev.earshot.voice.rtp.RtpWriter
import dev.earshot.voice.testkit.internal.DaveGroup
import dev.earshot.voice.testkit.internal.DaveMls
import dev.earshot.voice.testkit.internal.DaveOutput
import dev.earshot.voice.testkit.internal.MemberDave
import dev.earshot.voice.testkit.internal.MemberDaveOutput
import dev.earshot.voice.testkit.internal.MemberPlayer
import dev.earshot.voice.testkit.internal.PlannedFrame
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.toKotlinDuration
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.async
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.plus
import kotlinx.coroutines.withTimeoutOrNull
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonArray
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.put
import org.slf4j.LoggerFactory

/**
 * One voice channel of a [VoiceTestServer]: the real clients whose grants name it and the scripted members added
 * to it. Audio from each member (real or scripted) goes to every real client in the channel but the sender.
 * Get one with [VoiceTestServer.channel].
 *
 * DAVE: while [TestServerConfig.daveProtocolVersion] is 1 and every participant supports DAVE (real clients whose
 * Identify offered version 1 or more, and scripted members, which run Earshot's own DAVE client unless added with
 * `dave = false`), the channel runs DAVE as Discord's gateway does: an
 * external sender (op 25), key packages (op 26), external Add/Remove proposals (op 27), the first valid commit wins
 * (op 28), announced with op 29 and welcomed with op 30, executed with op 22 once every participant sent op 23 (or
 * after 2 s). A client that sends op 31 is removed and added again; a last remaining member is reset (op 24 epoch 1,
 * op 21 transition 0). A participant without DAVE (a real client offering version 0, or a transport-only scripted
 * member) downgrades the call to transport-only (op 21 version 0, then op 22); when the last one leaves,
 * the call upgrades again (op 24 epoch 1 and op 25 to every DAVE client). The SFU never looks inside the Opus
 * payloads: it forwards DAVE frames as they are.
 */
public class TestChannel internal constructor(
    private val server: VoiceTestServer,
    /** The guild. */
    public val guildId: String,
    /** The channel. */
    public val channelId: String,
) {
    // Guarded by server.lock.
    private val clientSet = LinkedHashSet<ClientSession>()
    private val memberMap = LinkedHashMap<String, ScriptedMember>()

    /** The channel's DAVE group; null when the server does not offer DAVE. Guarded by server.lock. */
    // Keyed by ClientSession or ScriptedMember.
    internal val dave: DaveGroup<Any>? =
        if (server.config.daveProtocolVersion > 0) DaveGroup(DaveMls.groupId(channelId), DaveGlue()) else null

    /** The DAVE protocol version the channel runs now: 0 (transport-only) or 1. */
    public val daveProtocolVersion: Int get() = synchronized(server.lock) { if (dave?.active == true) 1 else 0 }

    /** The epoch of the channel's DAVE group, or null while there is no group (no DAVE, or no member yet). */
    public val daveEpoch: Long? get() = synchronized(server.lock) { dave?.takeIf { it.active && it.memberCount > 0 }?.epoch }

    /** The user ids of the channel's DAVE group members, in leaf order (empty without a group). */
    public val daveMembers: List<String> get() = synchronized(server.lock) { dave?.members()?.map(::userIdOf) ?: emptyList() }

    /** DAVE transitions executed so far (op 22 sent). */
    public val daveTransitions: Long get() = synchronized(server.lock) { dave?.executed ?: 0 }

    /** DAVE messages dropped as malformed or out of place (garbage binary opcodes excluded; see [ServerStats.wsIgnored]). */
    public val daveRejected: Long get() = synchronized(server.lock) { dave?.rejected ?: 0 }

    /** The real clients in the channel now (sessions that identified and have not ended). */
    public val clients: List<ClientSession> get() = synchronized(server.lock) { clientSet.toList() }

    /** The scripted members in the channel now (added and not yet left). */
    public val members: List<ScriptedMember> get() = synchronized(server.lock) { memberMap.values.toList() }

    /** Every user id in the channel: real clients, then scripted members. */
    public val userIds: List<String>
        get() = synchronized(server.lock) { clientSet.map { it.userId } + memberMap.keys }

    /**
     * Adds a member that the server plays itself: every client in the channel gets op 11 for it (op 18 with
     * [clientFlags] and op 20 with [platform] when given) and op 5 `{speaking, ssrc, user_id}`; clients that
     * connect later get the same right after their Ready. After [startDelay] (default 100 ms, so op 5 reaches
     * clients before the audio) the [script] plays: its frames are encrypted for each client with that client's
     * key and mode, paced every 20 ms. [speaking] is the op 5 flags bitmask (default 1, microphone).
     *
     * With [dave] (the default) and a server offering DAVE, the member is a DAVE client ([ScriptedMember.daveSession]):
     * it joins the channel's MLS group and end-to-end encrypts its frames, which it sends unencrypted until its first
     * key is in force, as discord.js does. With `dave = false`, or when [userId] or the channel id is not a numeric
     * snowflake, the member is transport-only and the channel downgrades while it is present.
     * Java adds members with the overloads below or with [newMember].
     * @throws IllegalArgumentException if [userId] is already in the channel.
     */
    @JvmSynthetic
    public fun addMember(
        userId: String,
        script: MemberScript = MemberScript.SILENT,
        speaking: Int = 1,
        clientFlags: Int? = null,
        platform: Int? = null,
        startDelay: Duration = DEFAULT_START_DELAY,
        dave: Boolean = true,
    ): ScriptedMember {
        val member: ScriptedMember
        synchronized(server.lock) {
            check(!server.isClosed) { "the server is closed" }
            require(userId !in memberMap && clientSet.none { it.userId == userId }) { "user $userId is already in the channel" }
            member = ScriptedMember(this, userId, server.newSsrc(), script, speaking, clientFlags, platform)
            val group = this.dave
            val self = snowflake(userId)
            val channel = snowflake(channelId)
            if (dave && group != null && self != null && channel != null) {
                member.dave = MemberDave(JvmDaveSession.FACTORY, self, channel, server.scope + server.daveDispatcher, MemberGlue(member))
            }
            memberMap[userId] = member
            updateDaveMode()
            for (c in clientSet) {
                c.send(OP_CLIENTS_CONNECT, buildJsonObject { put("user_ids", JsonArray(listOf(JsonPrimitive(userId)))) })
                announce(member, c)
            }
            membershipToMembers(userId, joined = true, except = member)
            member.dave?.let { md ->
                (clientSet.map { it.userId } + memberMap.keys).filter { it != userId }.forEach { id ->
                    snowflake(id)?.let { md.user(it, joined = true) }
                }
                // Op 25 (when the call runs DAVE) before the "Session Description", as the server does for clients.
                group!!.join(member, userId)
                md.start(if (group.active) 1 else 0)
            }
            val player = MemberPlayer(
                script, server.clock, server.randomInt() and 0xFFFF, server.randomInt().toLong() and 0xFFFF_FFFFL,
                emit = { frame -> sendScripted(member, frame) },
                leave = { removeMember(member) },
                awaitDave = { timeout ->
                    val md = member.dave
                    if (md != null) {
                        withTimeoutOrNull(timeout) { while (!md.keyed && !md.transportOnly) delay(5.milliseconds) }
                            ?: throw IllegalStateException("member $userId got no DAVE key within $timeout")
                    }
                },
            )
            // async, not launch: a failing script (an unreadable file) is reported by awaitFinished, not by the scope.
            member.job = server.scope.async(server.pacer, start = CoroutineStart.LAZY) { player.run(startDelay) }
        }
        member.job.start()
        return member
    }

    /** Adds a silent member with the defaults of the full [addMember] (a DAVE client when the channel can run DAVE). */
    public fun addMember(userId: String): ScriptedMember = addMember(userId, MemberScript.SILENT)

    /** Adds a member playing [script] with the defaults of the full [addMember]. */
    public fun addMember(userId: String, script: MemberScript): ScriptedMember =
        addMember(userId, script, speaking = 1, clientFlags = null, platform = null, startDelay = DEFAULT_START_DELAY, dave = true)

    /**
     * Starts describing member [userId], for Java: `channel.newMember("4").script(s).dave(false).add()`. Each setting
     * is that of the full [addMember], with the same defaults.
     */
    public fun newMember(userId: String): MemberBuilder = MemberBuilder(userId)

    /** Collects the settings of one scripted member; [add] adds it. See [newMember] and [addMember]. */
    public inner class MemberBuilder internal constructor(private val userId: String) {
        private var script = MemberScript.SILENT
        private var speaking = 1
        private var clientFlags: Int? = null
        private var platform: Int? = null
        private var startDelay = DEFAULT_START_DELAY
        private var dave = true

        /** What the member plays; default [MemberScript.SILENT]. */
        public fun script(value: MemberScript): MemberBuilder = apply { script = value }

        /** The op 5 speaking flags; default 1 (microphone). */
        public fun speaking(value: Int): MemberBuilder = apply { speaking = value }

        /** The op 18 flags to announce, or null for none (the default). */
        public fun clientFlags(value: Int?): MemberBuilder = apply { clientFlags = value }

        /** The op 20 platform to announce, or null for none (the default). */
        public fun platform(value: Int?): MemberBuilder = apply { platform = value }

        /** How long after joining the script starts; default 100 ms. */
        public fun startDelay(value: java.time.Duration): MemberBuilder = apply { startDelay = value.toKotlinDuration() }

        /** Whether the member is a DAVE client when the channel can run DAVE; default true. */
        public fun dave(value: Boolean): MemberBuilder = apply { dave = value }

        /** Adds the member; see [addMember]. */
        public fun add(): ScriptedMember = addMember(userId, script, speaking, clientFlags, platform, startDelay, dave)
    }

    /** The scripted member with [userId], or null. */
    public fun member(userId: String): ScriptedMember? = synchronized(server.lock) { memberMap[userId] }

    /** Sends a scripted member's op 18/20/5 to [to]. Caller holds server.lock. */
    private fun announce(member: ScriptedMember, to: ClientSession) {
        member.clientFlags?.let { flags ->
            to.send(OP_CLIENT_FLAGS, buildJsonObject { put("user_id", member.userId); put("flags", flags) })
        }
        member.platform?.let { platform ->
            to.send(OP_CLIENT_PLATFORM, buildJsonObject { put("user_id", member.userId); put("platform", platform) })
        }
        to.send(OP_SPEAKING, speakingJson(member.speaking, member.ssrc, member.userId))
    }

    /** Adds a client that just got Ready and tells everyone. Caller holds server.lock. */
    internal fun join(session: ClientSession) {
        val others = clientSet.map { it.userId } + memberMap.keys
        if (others.isNotEmpty()) {
            session.send(OP_CLIENTS_CONNECT, buildJsonObject { put("user_ids", JsonArray(others.map(::JsonPrimitive))) })
        }
        for (m in memberMap.values) announce(m, session)
        for (c in clientSet) {
            c.speaking?.let { session.send(OP_SPEAKING, speakingJson(it, c.ssrc, c.userId)) }
        }
        for (c in clientSet) {
            c.send(OP_CLIENTS_CONNECT, buildJsonObject { put("user_ids", JsonArray(listOf(JsonPrimitive(session.userId)))) })
        }
        membershipToMembers(session.userId, joined = true, except = null)
        clientSet += session
        updateDaveMode()
    }

    /** Removes a client and sends op 13 to the others. Caller holds server.lock. */
    internal fun leave(session: ClientSession) {
        if (!clientSet.remove(session)) return
        for (c in clientSet) c.send(OP_CLIENT_DISCONNECT, buildJsonObject { put("user_id", session.userId) })
        membershipToMembers(session.userId, joined = false, except = null)
        dave?.leave(session)
        updateDaveMode()
    }

    // ---- DAVE glue; callers hold server.lock ----

    /** Whether every participant can run DAVE: no transport-only scripted member and no real client without DAVE. */
    private fun allDave(): Boolean = memberMap.values.all { it.dave != null } && clientSet.all { it.maxDaveProtocolVersion >= 1 }

    /** Op 11 or op 13 for [userId] to the DAVE clients of the scripted members other than [except]. */
    private fun membershipToMembers(userId: String, joined: Boolean, except: ScriptedMember?) {
        val id = snowflake(userId) ?: return
        for (m in memberMap.values) if (m !== except) m.dave?.user(id, joined)
    }

    private fun updateDaveMode() {
        dave?.setActive(allDave())
    }

    /** The `dave_protocol_version` for [session]'s Session Description. */
    internal fun daveVersionFor(session: ClientSession): Int =
        if (dave?.active == true && session.maxDaveProtocolVersion >= 1) 1 else 0

    /** After [session]'s op 4: DAVE-capable clients join the group's bookkeeping (and get op 25 when it is on). */
    internal fun daveSessionReady(session: ClientSession) {
        if (session.maxDaveProtocolVersion >= 1 && session in clientSet) dave?.join(session, session.userId)
    }

    internal fun daveKeyPackage(session: ClientSession, payload: ByteArray) = daveOr(session) { it.keyPackage(session, payload) }

    internal fun daveCommitWelcome(session: ClientSession, payload: ByteArray) = daveOr(session) { it.commitWelcome(session, payload) }

    internal fun daveReady(session: ClientSession, transitionId: Int) = daveOr(session) { it.ready(session, transitionId) }

    internal fun daveInvalid(session: ClientSession, transitionId: Int) = daveOr(session) { it.invalid(session, transitionId) }

    private inline fun daveOr(session: ClientSession, action: (DaveGroup<Any>) -> Unit) {
        val group = dave
        if (group == null) {
            server.counters.wsIgnored.incrementAndGet()
            LOG.debug("ignored a DAVE message from user {}: the server does not offer DAVE", session.userId)
        } else {
            action(group)
        }
    }

    private inner class DaveGlue : DaveOutput<Any> {
        override fun json(to: Any, op: Int, d: JsonObject) {
            when (to) {
                is ClientSession -> if (!to.isEnded) to.send(op, d)
                is ScriptedMember -> if (to.isPresent) to.dave?.json(op, d)
            }
        }

        override fun binary(to: Any, op: Int, payload: ByteArray) {
            when (to) {
                is ClientSession -> if (!to.isEnded) to.sendBinary(op, payload)
                is ScriptedMember -> if (to.isPresent) to.dave?.binary(op, payload)
            }
        }

        override fun schedule(after: Duration, token: Long) {
            server.scope.launch {
                delay(after)
                synchronized(server.lock) { dave?.timeout(token) }
            }
        }

        override fun rejected(from: Any, why: String) {
            server.counters.daveRejected.incrementAndGet()
            LOG.debug("dropped a DAVE message from user {}: {}", userIdOf(from), why)
        }
    }

    /**
     * A scripted member's DAVE messages to the gateway: they reach the group as a client's ops 26/28/23/31 would.
     * Called on the member's DAVE coroutine, never under the server lock.
     */
    private inner class MemberGlue(private val member: ScriptedMember) : MemberDaveOutput {
        override fun keyPackage(payload: ByteArray) = toGroup { it.keyPackage(member, payload) }
        override fun commitWelcome(payload: ByteArray) = toGroup { it.commitWelcome(member, payload) }
        override fun ready(transitionId: Int) = toGroup { it.ready(member, transitionId) }
        override fun invalid(transitionId: Int) = toGroup { it.invalid(member, transitionId) }

        private inline fun toGroup(action: (DaveGroup<Any>) -> Unit) {
            synchronized(server.lock) {
                // A member that left sends nothing more, as a closed socket would not.
                if (member.isPresent && memberMap[member.userId] === member) dave?.let(action)
            }
        }
    }

    /** A client's op 5: forwarded to the others with its SSRC and user id. Caller holds server.lock. */
    internal fun speakingChanged(session: ClientSession, speaking: Int) {
        for (c in clientSet) if (c !== session) c.send(OP_SPEAKING, speakingJson(speaking, session.ssrc, session.userId))
    }

    /** The ready clients other than [sender], for forwarding. */
    internal fun receiversExcept(sender: ClientSession?): List<ClientSession> =
        synchronized(server.lock) { clientSet.filter { it !== sender && it.isReady && it.udpAddress != null } }

    internal fun removeMember(member: ScriptedMember) {
        synchronized(server.lock) {
            if (memberMap[member.userId] !== member) return
            memberMap.remove(member.userId)
            member.isPresent = false
            for (c in clientSet) c.send(OP_CLIENT_DISCONNECT, buildJsonObject { put("user_id", member.userId) })
            membershipToMembers(member.userId, joined = false, except = member)
            dave?.leave(member)
            member.dave?.close()
            updateDaveMode()
        }
    }

    private fun sendScripted(member: ScriptedMember, frame: PlannedFrame) {
        val header = ByteArray(HEADER_MAX)
        val extWords = (frame.extension?.size ?: 0) / 4
        val headerLength = RtpWriter.writeHeader(
            header, 0, frame.sequence, frame.timestamp, member.ssrc, frame.marker,
            extensionProfile = if (frame.extension != null) HeaderExtensions.PROFILE_ONE_BYTE else -1,
            extensionLengthWords = extWords,
        )
        // DAVE is end to end: one ciphertext for every receiver, under each receiver's own transport encryption.
        val payload = member.dave?.encrypt(frame.opus) ?: frame.opus
        member.dave?.let { member.transitionsAtSend[frame.sequence] = it.session.stats().transitions }
        val encrypted = member.dave != null && payload.size > frame.opus.size
        val plain = (frame.extension ?: EMPTY) + payload
        for (c in receiversExcept(null)) c.outbound.send(header, 0, headerLength, plain, 0, plain.size)
        member.record(
            SentFrame(
                frame.sequence, frame.timestamp, frame.marker, frame.extension != null, frame.opus, frame.isSilence,
                frame.sentAtNanos, System.currentTimeMillis(), encrypted,
            ),
        )
    }

    override fun toString(): String = "TestChannel(guild=$guildId, channel=$channelId)"

    internal companion object {
        private val LOG = LoggerFactory.getLogger(TestChannel::class.java)
        const val OP_SPEAKING = 5
        const val OP_CLIENTS_CONNECT = 11
        const val OP_CLIENT_DISCONNECT = 13
        const val OP_CLIENT_FLAGS = 18
        const val OP_CLIENT_PLATFORM = 20
        private const val HEADER_MAX = 16
        private val EMPTY = ByteArray(0)
        private val DEFAULT_START_DELAY = 100.milliseconds

        /** A user or channel id as DAVE uses it (unsigned 64-bit), or null when it is not a numeric snowflake. */
        fun snowflake(id: String): Long? = id.toULongOrNull()?.toLong()

        fun userIdOf(k: Any): String = when (k) {
            is ClientSession -> k.userId
            is ScriptedMember -> k.userId
            else -> k.toString()
        }

        fun speakingJson(speaking: Int, ssrc: Long, userId: String) = buildJsonObject {
            put("speaking", speaking)
            put("ssrc", ssrc)
            put("user_id", userId)
        }
    }
}
