package dev.earshot.voice.testkit.internal

import dev.earshot.voice.dave.DaveCallbacks
import dev.earshot.voice.dave.DaveSession
import dev.earshot.voice.dave.DaveSessionFactory
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.launch
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.intOrNull
import kotlinx.serialization.json.longOrNull
import org.slf4j.LoggerFactory

/** What a scripted member's [DaveSession] sends to the gateway (ops 26, 28, 23, 31), as [DaveCallbacks] do. */
internal interface MemberDaveOutput {
    fun keyPackage(payload: ByteArray)
    fun commitWelcome(payload: ByteArray)
    fun ready(transitionId: Int)
    fun invalid(transitionId: Int)
}

/**
 * The DAVE client of one scripted member: a [DaveSession] (Earshot's own client, from [factory]) fed with what the
 * channel's [DaveGroup] addresses to the member, in order, as a real client's gateway socket would feed it.
 *
 * Everything the gateway side sends (and op 11/13 membership) goes into an inbox drained by one coroutine in
 * [scope]; the session's callbacks run on that coroutine and go to [output], which takes the server lock. So the
 * group never calls into a session while it is being called by one (no re-entrancy), and nothing holding the server
 * lock ever waits for a session (no deadlock): the server lock holder only enqueues, even to close.
 */
internal class MemberDave(
    factory: DaveSessionFactory,
    selfUserId: Long,
    channelId: Long,
    scope: CoroutineScope,
    private val output: MemberDaveOutput,
) {
    private sealed interface Event
    private class Json(val op: Int, val d: JsonObject) : Event
    private class Binary(val op: Int, val payload: ByteArray) : Event
    private class Start(val version: Int) : Event
    private class User(val id: Long, val joined: Boolean) : Event
    private data object Close : Event

    private val inbox = Channel<Event>(Channel.UNLIMITED)

    /** True once the member's own media key is in force (it executed a transition while in a group). */
    @Volatile var keyed: Boolean = false
        private set

    /** True once the start was handled in a transport-only call (protocol version 0): there is no key to wait for. */
    @Volatile var transportOnly: Boolean = false
        private set

    val session: DaveSession = factory.create(selfUserId, channelId, object : DaveCallbacks {
        override fun sendKeyPackage(keyPackage: ByteArray) = output.keyPackage(keyPackage)
        override fun sendCommitWelcome(commitWelcome: ByteArray) = output.commitWelcome(commitWelcome)
        override fun sendReadyForTransition(transitionId: Int) = output.ready(transitionId)
        override fun sendInvalidCommitWelcome(transitionId: Int) = output.invalid(transitionId)
    })

    init {
        scope.launch {
            try {
                for (e in inbox) {
                    if (e === Close) break
                    val wasInGroup = session.epoch != null
                    val transitions = session.stats().transitions
                    handle(e)
                    // Our key is installed when a transition executes in a group: op 22 after op 29/30, or at once for
                    // transition 0 (op 29/30 carrying id 0).
                    if (!keyed && session.epoch != null && session.stats().transitions > transitions && (wasInGroup || e is Binary)) keyed = true
                    if (e is Start) transportOnly = e.version == 0
                }
            } finally {
                inbox.close()
                session.close()
            }
        }
    }

    /** A JSON DAVE message (op 21, 22, 24) for the member. */
    fun json(op: Int, d: JsonObject) = post(Json(op, d))

    /** A binary DAVE message (op 25, 27, 29, 30; payload after the opcode) for the member. */
    fun binary(op: Int, payload: ByteArray) = post(Binary(op, payload))

    /** The member's "Session Description": DAVE [version] in force from now (1, or 0 in a transport-only call). */
    fun start(version: Int) = post(Start(version))

    /** Op 11 ([joined]) or op 13 for [userId]. */
    fun user(userId: Long, joined: Boolean) = post(User(userId, joined))

    /** Ends the session once what is queued before has been handled. */
    fun close() = post(Close)

    /**
     * The payload to send for [opus]: a DAVE frame once the session executed its first transition; [opus] itself
     * before (and silence frames, and in transport-only calls). Earshot's own client drops frames it has no key for,
     * as libdave does; a scripted member plays a discord.js client instead, which sends them in the clear
     * (`DAVESession.encrypt` returns the packet while the session is not ready), so receivers see what such a joiner
     * really sends: plain frames they cannot use until its key is in force.
     */
    fun encrypt(opus: ByteArray): ByteArray {
        val out = ByteArray(session.maxEncryptedSize(opus.size))
        val n = session.encrypt(opus, 0, opus.size, out)
        return if (n < 0) opus else out.copyOf(n)
    }

    private fun post(e: Event) {
        inbox.trySend(e)
    }

    private fun handle(e: Event) {
        when (e) {
            is Start -> session.onSelectProtocolAck(e.version)
            is User -> if (e.joined) session.addUser(e.id) else session.removeUser(e.id)
            is Json -> when (e.op) {
                DaveOp.PREPARE_TRANSITION -> session.onPrepareTransition(e.d.int("transition_id"), e.d.int("protocol_version"))
                DaveOp.EXECUTE_TRANSITION -> session.onExecuteTransition(e.d.int("transition_id"))
                DaveOp.PREPARE_EPOCH -> session.onPrepareEpoch(
                    (e.d["epoch"] as? JsonPrimitive)?.longOrNull ?: 0, e.d.int("protocol_version"),
                )
                else -> log.debug("scripted member ignores DAVE op {}", e.op)
            }
            is Binary -> when (e.op) {
                DaveOp.EXTERNAL_SENDER -> session.onExternalSenderPackage(e.payload)
                DaveOp.PROPOSALS -> session.onProposals(e.payload)
                DaveOp.ANNOUNCE_COMMIT -> session.onAnnounceCommit(transitionId(e.payload), e.payload.copyOfRange(2, e.payload.size))
                DaveOp.WELCOME -> session.onWelcome(transitionId(e.payload), e.payload.copyOfRange(2, e.payload.size))
                else -> log.debug("scripted member ignores binary DAVE op {}", e.op)
            }
            Close -> Unit
        }
    }

    // The group builds these messages itself, so the fields are always there.
    private fun JsonObject.int(key: String): Int = (this[key] as? JsonPrimitive)?.intOrNull ?: 0

    private fun transitionId(payload: ByteArray): Int = ((payload[0].toInt() and 0xFF) shl 8) or (payload[1].toInt() and 0xFF)

    private companion object {
        private val log = LoggerFactory.getLogger(MemberDave::class.java)
    }
}
