package dev.earshot.voice.gateway

import kotlinx.serialization.json.JsonObject
import java.util.concurrent.atomic.AtomicLong

/** Sends DAVE's client opcodes (23 and 31 as JSON, 26 and 28 as binary frames) on the current voice gateway socket. */
internal interface DaveGatewaySender {
    suspend fun sendJson(op: Int, d: JsonObject)
    suspend fun sendBinary(op: Int, payload: ByteArray)
}

/**
 * DAVE's part of the voice gateway: the connection hands it the negotiated version from Session Description, the
 * JSON opcodes 21, 22 and 24, the binary opcodes 25, 27, 29 and 30 (payload after the seq and opcode bytes), and
 * member joins and leaves, which DAVE needs to validate proposals (docs/protocol.md §6.3). The DAVE implementation fills
 * it; until then [Ignore] counts what it is given.
 */
internal interface DaveGateway {
    /** Offered in Identify as `max_dave_protocol_version`. */
    val maxProtocolVersion: Int

    suspend fun onSessionDescription(protocolVersion: Int, sender: DaveGatewaySender)
    suspend fun onJson(op: Int, data: JsonObject, sender: DaveGatewaySender)
    suspend fun onBinary(op: Int, payload: ByteArray, sender: DaveGatewaySender)
    fun onMembers(joined: Collection<Long>, left: Collection<Long>)

    /** No DAVE: offers version [maxProtocolVersion] (0 unless configured) and counts DAVE messages it cannot act on. */
    class Ignore(override val maxProtocolVersion: Int) : DaveGateway {
        val messages = AtomicLong()
        override suspend fun onSessionDescription(protocolVersion: Int, sender: DaveGatewaySender) = Unit
        override suspend fun onJson(op: Int, data: JsonObject, sender: DaveGatewaySender) {
            messages.incrementAndGet()
        }
        override suspend fun onBinary(op: Int, payload: ByteArray, sender: DaveGatewaySender) {
            messages.incrementAndGet()
        }
        override fun onMembers(joined: Collection<Long>, left: Collection<Long>) = Unit
    }
}
