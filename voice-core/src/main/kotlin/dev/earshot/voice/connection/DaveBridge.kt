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
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.intOrNull
import kotlinx.serialization.json.longOrNull
import kotlinx.serialization.json.put
import org.slf4j.LoggerFactory
import java.util.concurrent.atomic.AtomicLong

/**
 * Connects a [DaveSession] to the voice connection: decodes DAVE's gateway opcodes (JSON 21, 22, 24; binary 25, 27,
 * 29, 30) into session calls, forwards member joins and leaves, and sends what the session asks for (ops 23, 26, 28,
 * 31) on the current gateway socket. The session's callbacks may come from any thread (the receive path re-initialises
 * after too many failed frames), so they go through one queue drained by a coroutine in [scope], in call order.
 */
internal class DaveBridge(
    private val factory: DaveSessionFactory,
    private val selfUserId: Long,
    channelId: Long,
    scope: CoroutineScope,
) : DaveGateway {
    private val outbox = Channel<Outgoing>(Channel.UNLIMITED)
    // Bumped by switchChannel: callbacks of a replaced session must not reach the new channel's gateway.
    private val generation = java.util.concurrent.atomic.AtomicInteger()
    @Volatile
    private var sender: DaveGatewaySender? = null

    /** Gateway messages with a missing field or a short binary payload. */
    val malformed = AtomicLong()

    private fun callbacksFor(gen: Int): DaveCallbacks = object : DaveCallbacks {
        override fun sendKeyPackage(keyPackage: ByteArray) = post(gen, Outgoing.Binary(VoiceOp.DAVE_MLS_KEY_PACKAGE, keyPackage))
        override fun sendCommitWelcome(commitWelcome: ByteArray) = post(gen, Outgoing.Binary(VoiceOp.DAVE_MLS_COMMIT_WELCOME, commitWelcome))
        override fun sendReadyForTransition(transitionId: Int) =
            post(gen, Outgoing.Json(VoiceOp.DAVE_TRANSITION_READY, buildJsonObject { put("transition_id", transitionId) }))
        override fun sendInvalidCommitWelcome(transitionId: Int) =
            post(gen, Outgoing.Json(VoiceOp.DAVE_MLS_INVALID_COMMIT_WELCOME, buildJsonObject { put("transition_id", transitionId) }))
    }

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
    }

    init {
        scope.launch(CoroutineName("earshot-dave-outbox")) {
            for (m in outbox) {
                val s = sender ?: continue
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
        }
    }

    override val maxProtocolVersion: Int get() = session.maxProtocolVersion

    override suspend fun onSessionDescription(protocolVersion: Int, sender: DaveGatewaySender) {
        this.sender = sender
        session.onSelectProtocolAck(protocolVersion)
    }

    override suspend fun onJson(op: Int, data: JsonObject, sender: DaveGatewaySender) {
        this.sender = sender
        when (op) {
            VoiceOp.DAVE_PREPARE_TRANSITION -> {
                val tid = data.int("transition_id") ?: return bad(op)
                val version = data.int("protocol_version") ?: return bad(op)
                session.onPrepareTransition(tid, version)
            }
            VoiceOp.DAVE_EXECUTE_TRANSITION -> session.onExecuteTransition(data.int("transition_id") ?: return bad(op))
            VoiceOp.DAVE_PREPARE_EPOCH -> {
                val epoch = (data["epoch"] as? JsonPrimitive)?.longOrNull ?: return bad(op)
                session.onPrepareEpoch(epoch, data.int("protocol_version") ?: return bad(op))
            }
        }
    }

    override suspend fun onBinary(op: Int, payload: ByteArray, sender: DaveGatewaySender) {
        this.sender = sender
        when (op) {
            VoiceOp.DAVE_MLS_EXTERNAL_SENDER -> session.onExternalSenderPackage(payload)
            VoiceOp.DAVE_MLS_PROPOSALS -> session.onProposals(payload)
            VoiceOp.DAVE_MLS_ANNOUNCE_COMMIT_TRANSITION -> {
                if (payload.size < 2) return bad(op)
                session.onAnnounceCommit(transitionId(payload), payload.copyOfRange(2, payload.size))
            }
            VoiceOp.DAVE_MLS_WELCOME -> {
                if (payload.size < 2) return bad(op)
                session.onWelcome(transitionId(payload), payload.copyOfRange(2, payload.size))
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
    }

    /** The send path's end-to-end step. */
    val frameEncryptor: FrameEncryptor = object : FrameEncryptor {
        override fun maxEncryptedSize(length: Int): Int = session.maxEncryptedSize(length)
        override fun encrypt(frame: ByteArray, offset: Int, length: Int, out: ByteArray): Int = session.encrypt(frame, offset, length, out)
    }

    fun close() {
        outbox.close()
        session.close()
    }

    private fun post(gen: Int, m: Outgoing) {
        if (gen == generation.get()) outbox.trySend(m)
    }

    private fun bad(op: Int) {
        malformed.incrementAndGet()
        log.debug("malformed DAVE op {} ignored", op)
    }

    private fun JsonObject.int(key: String): Int? = (this[key] as? JsonPrimitive)?.intOrNull

    private fun transitionId(payload: ByteArray): Int = ((payload[0].toInt() and 0xFF) shl 8) or (payload[1].toInt() and 0xFF)

    private sealed class Outgoing(val op: Int) {
        class Json(op: Int, val d: JsonObject) : Outgoing(op)
        class Binary(op: Int, val payload: ByteArray) : Outgoing(op)
    }

    private companion object {
        private val log = LoggerFactory.getLogger(DaveBridge::class.java)
    }
}
