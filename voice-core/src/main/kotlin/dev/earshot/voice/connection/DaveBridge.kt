package dev.earshot.voice.connection

import dev.earshot.voice.dave.DaveCallbacks
import dev.earshot.voice.dave.DaveSession
import dev.earshot.voice.dave.DaveSessionFactory
import dev.earshot.voice.e2ee.FrameDecryptor
import dev.earshot.voice.e2ee.FrameEncryptor
import dev.earshot.voice.gateway.DaveGateway
import dev.earshot.voice.gateway.DaveGatewaySender
import dev.earshot.voice.gateway.VoiceOp
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.intOrNull
import kotlinx.serialization.json.longOrNull
import kotlinx.serialization.json.put
import org.slf4j.LoggerFactory
import java.util.concurrent.atomic.AtomicLong
import kotlin.coroutines.CoroutineContext

/**
 * Connects a [DaveSession] to the voice connection: decodes DAVE's gateway opcodes (JSON 21, 22, 24; binary 25, 27,
 * 29, 30) into session calls, forwards member joins and leaves, and sends what the session asks for (ops 23, 26, 28,
 * 31) on the current gateway socket. The session's callbacks may come from any thread (the receive path re-initialises
 * after too many failed frames), so they go through one queue drained by a coroutine in [scope], in call order.
 *
 * New keys in the session ([DaveCallbacks.keysChanged]) wake the receive pipeline ([FrameDecryptor.onKeysChanged]),
 * so frames held until their key arrives are retried at once, not only when their sender's next frame comes.
 *
 * The queue is bounded ([MAX_OUTBOX_MESSAGES] messages and [MAX_OUTBOX_BYTES] bytes): it only fills when the socket
 * stops taking what we send (a server that does not read) while the server keeps sending; then the oldest messages
 * are dropped and counted ([outboxDropped]), since DAVE's newest message (key package, commit, ready) supersedes them
 * and a session that fell behind recovers with op 31 and a new key package anyway.
 *
 * The session's gateway events run in [mlsContext] when given ([DaveWorker]'s thread for connections on the system
 * clock), each awaited before the next message is read, so their order is kept; null runs them inline, as virtual-time
 * tests need.
 */
internal class DaveBridge(
    private val factory: DaveSessionFactory,
    private val selfUserId: Long,
    channelId: Long,
    scope: CoroutineScope,
    private val mlsContext: CoroutineContext? = null,
) : DaveGateway {
    // Guarded by itself; the drainer is woken through a conflated channel.
    private val outbox = ArrayDeque<Outgoing>()
    private var outboxBytes = 0L
    private val outboxWake = Channel<Unit>(Channel.CONFLATED)
    // Bumped by switchChannel: callbacks of a replaced session must not reach the new channel's gateway.
    private val generation = java.util.concurrent.atomic.AtomicInteger()
    @Volatile
    private var sender: DaveGatewaySender? = null

    /** Gateway messages with a missing or out-of-range field, or a short binary payload. */
    val malformed = AtomicLong()

    /** Outgoing messages dropped because the outbox was full. */
    val outboxDropped = AtomicLong()

    private fun callbacksFor(gen: Int): DaveCallbacks = object : DaveCallbacks {
        override fun sendKeyPackage(keyPackage: ByteArray) = post(gen, Outgoing.Binary(VoiceOp.DAVE_MLS_KEY_PACKAGE, keyPackage))
        override fun sendCommitWelcome(commitWelcome: ByteArray) = post(gen, Outgoing.Binary(VoiceOp.DAVE_MLS_COMMIT_WELCOME, commitWelcome))
        override fun sendReadyForTransition(transitionId: Int) =
            post(gen, Outgoing.Json(VoiceOp.DAVE_TRANSITION_READY, buildJsonObject { put("transition_id", transitionId) }))
        override fun sendInvalidCommitWelcome(transitionId: Int) =
            post(gen, Outgoing.Json(VoiceOp.DAVE_MLS_INVALID_COMMIT_WELCOME, buildJsonObject { put("transition_id", transitionId) }))
        override fun keysChanged() {
            if (gen == generation.get()) keyListeners.forEach { it.run() }
        }
    }

    // The receive pipeline's wake-ups for frames held until their key arrives.
    private val keyListeners = java.util.concurrent.CopyOnWriteArrayList<Runnable>()

    /** The current session; replaced by [switchChannel] (a channel move: the MLS group id is the channel id). */
    @Volatile
    var session: DaveSession = factory.create(selfUserId, channelId, callbacksFor(0))
        private set

    /**
     * Starts over with a new session for [channelId]'s group and closes the old one. The frame decryptor and encryptor
     * handed to the receiver and player read [session] on every call, so they follow without being replaced.
     */
    fun switchChannel(channelId: Long) {
        val old = session
        session = factory.create(selfUserId, channelId, callbacksFor(generation.incrementAndGet()))
        old.close()
        // Frames held for the old group's keys will not decrypt now; let them be retried (and given up) promptly.
        keyListeners.forEach { it.run() }
    }

    init {
        scope.launch(CoroutineName("earshot-dave-outbox")) {
            while (outboxWake.receiveCatching().isSuccess) {
                while (true) send(nextOutgoing() ?: break)
            }
        }
    }

    private suspend fun send(m: Outgoing) {
        val s = sender ?: return
        try {
            when (m) {
                is Outgoing.Json -> s.sendJson(m.op, m.d)
                is Outgoing.Binary -> s.sendBinary(m.op, m.payload)
            }
        } catch (e: Exception) {
            // The socket closed under us; after a reconnect the session starts over from op 4.
            log.debug("DAVE op {} not sent: {}", m.op, e.toString())
        }
    }

    private fun nextOutgoing(): Outgoing? = synchronized(outbox) {
        outbox.removeFirstOrNull()?.also { outboxBytes -= it.size }
    }

    override val maxProtocolVersion: Int get() = session.maxProtocolVersion

    /** Runs a session event where MLS work belongs ([mlsContext]), or inline. */
    private suspend inline fun mls(crossinline event: () -> Unit) {
        if (mlsContext == null) event() else withContext(mlsContext) { event() }
    }

    override suspend fun onSessionDescription(protocolVersion: Int, sender: DaveGatewaySender) {
        this.sender = sender
        mls { session.onSelectProtocolAck(protocolVersion) }
    }

    override suspend fun onJson(op: Int, data: JsonObject, sender: DaveGatewaySender) {
        this.sender = sender
        when (op) {
            VoiceOp.DAVE_PREPARE_TRANSITION -> {
                val tid = data.transitionId() ?: return bad(op)
                val version = data.protocolVersion() ?: return bad(op)
                mls { session.onPrepareTransition(tid, version) }
            }
            VoiceOp.DAVE_EXECUTE_TRANSITION -> {
                val tid = data.transitionId() ?: return bad(op)
                mls { session.onExecuteTransition(tid) }
            }
            VoiceOp.DAVE_PREPARE_EPOCH -> {
                val epoch = (data["epoch"] as? JsonPrimitive)?.longOrNull?.takeIf { it >= 1 } ?: return bad(op)
                val version = data.protocolVersion() ?: return bad(op)
                mls { session.onPrepareEpoch(epoch, version) }
            }
        }
    }

    override suspend fun onBinary(op: Int, payload: ByteArray, sender: DaveGatewaySender) {
        this.sender = sender
        when (op) {
            VoiceOp.DAVE_MLS_EXTERNAL_SENDER -> mls { session.onExternalSenderPackage(payload) }
            VoiceOp.DAVE_MLS_PROPOSALS -> mls { session.onProposals(payload) }
            VoiceOp.DAVE_MLS_ANNOUNCE_COMMIT_TRANSITION -> {
                if (payload.size < 2) return bad(op)
                val commit = payload.copyOfRange(2, payload.size)
                mls { session.onAnnounceCommit(transitionId(payload), commit) }
            }
            VoiceOp.DAVE_MLS_WELCOME -> {
                if (payload.size < 2) return bad(op)
                val welcome = payload.copyOfRange(2, payload.size)
                mls { session.onWelcome(transitionId(payload), welcome) }
            }
        }
    }

    override fun onMembers(joined: Collection<Long>, left: Collection<Long>) {
        joined.forEach(session::addUser)
        left.forEach(session::removeUser)
    }

    /** The receive pipeline's end-to-end step. */
    val frameDecryptor: FrameDecryptor = object : FrameDecryptor {
        override val requiresUser: Boolean get() = session.requiresUser
        override fun decrypt(userId: Long, ssrc: Long, frame: ByteArray, offset: Int, length: Int): Int =
            session.decrypt(userId, frame, offset, length)
        override fun onKeysChanged(listener: Runnable): AutoCloseable {
            keyListeners += listener
            return AutoCloseable { keyListeners -= listener }
        }
        override fun dropped(userId: Long, ssrc: Long) = session.frameDropped(userId)
    }

    /** The send path's end-to-end step. */
    val frameEncryptor: FrameEncryptor = object : FrameEncryptor {
        override fun maxEncryptedSize(length: Int): Int = session.maxEncryptedSize(length)
        override fun encrypt(frame: ByteArray, offset: Int, length: Int, out: ByteArray): Int = session.encrypt(frame, offset, length, out)
    }

    fun close() {
        outboxWake.close()
        session.close()
    }

    private fun post(gen: Int, m: Outgoing) {
        if (gen != generation.get()) return
        var dropped = 0
        synchronized(outbox) {
            outbox.addLast(m)
            outboxBytes += m.size
            // One message larger than the byte bound is still sent: it is bounded by the frame it answers.
            while (outbox.size > MAX_OUTBOX_MESSAGES || (outboxBytes > MAX_OUTBOX_BYTES && outbox.size > 1)) {
                outboxBytes -= outbox.removeFirst().size
                dropped++
            }
        }
        if (dropped > 0) {
            outboxDropped.addAndGet(dropped.toLong())
            log.debug("DAVE outbox full: dropped {} oldest message(s)", dropped)
        }
        outboxWake.trySend(Unit)
    }

    private fun bad(op: Int) {
        malformed.incrementAndGet()
        log.debug("malformed DAVE op {} ignored", op)
    }

    private fun JsonObject.int(key: String): Int? = (this[key] as? JsonPrimitive)?.intOrNull

    // Transition ids are 16-bit: ops 29 and 30 carry them in two bytes.
    private fun JsonObject.transitionId(): Int? = int("transition_id")?.takeIf { it in 0..0xFFFF }

    private fun JsonObject.protocolVersion(): Int? = int("protocol_version")?.takeIf { it in 0..MAX_PROTOCOL_VERSION }

    private fun transitionId(payload: ByteArray): Int = ((payload[0].toInt() and 0xFF) shl 8) or (payload[1].toInt() and 0xFF)

    private sealed class Outgoing(val op: Int, val size: Int) {
        // A JSON message's size is nominal: they are a few dozen bytes.
        class Json(op: Int, val d: JsonObject) : Outgoing(op, 64)
        class Binary(op: Int, val payload: ByteArray) : Outgoing(op, payload.size)
    }

    companion object {
        /** Outgoing DAVE messages queued at most (256). */
        const val MAX_OUTBOX_MESSAGES: Int = 256

        /** Bytes of outgoing DAVE messages queued at most (4 MiB): a few large commits and welcomes. */
        const val MAX_OUTBOX_BYTES: Long = 4L shl 20

        /** DAVE protocol versions accepted in ops 21 and 24 (1 exists today). */
        private const val MAX_PROTOCOL_VERSION = 255

        private val log = LoggerFactory.getLogger(DaveBridge::class.java)
    }
}
