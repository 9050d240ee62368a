package dev.earshot.voice.connection

import dev.earshot.voice.crypto.EncryptionMode
import dev.earshot.voice.gateway.GatewayClose
import dev.earshot.voice.gateway.GatewayProtocolException
import dev.earshot.voice.gateway.GatewaySocketClosedException
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.currentCoroutineContext
import kotlinx.coroutines.ensureActive

// One socket of the connection (ConnectionDriver.runSocket): what its handshake went through and how it ended.

/** How one socket ended: a close, or an [error] (with no close), or a [fatal] cause that ends the connection. */
internal class SocketOutcome(val close: GatewayClose?, val error: Throwable?, val fatal: Throwable? = null)

/** Thrown by the message handler for a failure that ends the connection, not just the socket. */
internal class FatalError(override val cause: Throwable) : Exception(cause)

/** What one socket has been through in the handshake; the driver's protocol checks read it. */
internal class Handshake(val resume: Boolean, selected: EncryptionMode?) {
    /** The mode we sent in Select Protocol on this socket, or the session's mode when resuming. */
    var selected: EncryptionMode? = selected
    var identified = false
    var resumed = false
    var ready = false

    /** The handshake is complete (Session Description or Resumed): the watchdog stands down. */
    @Volatile
    var done = false
}

/**
 * What a failure of one socket means for the loop. Our own cancellation is rethrown (the only [CancellationException]
 * that passes: one while our coroutine is no longer active); any other [CancellationException] came from the socket
 * or ktor's session and is a socket failure. VM-fatal errors propagate; other [Error]s (a [StackOverflowError] on a
 * pathological message) are contained as [VoiceConnectionInternalException] and end only this socket.
 */
internal suspend fun socketFailure(e: Throwable, what: String): Throwable {
    if (e is CancellationException) {
        currentCoroutineContext().ensureActive()
        return GatewaySocketClosedException("$what failed: the socket was cancelled ($e)", e)
    }
    if (e.isVmFatal()) throw e
    if (e is GatewayProtocolException) return VoiceServerProtocolException(e.field, e.detail)
    return e as? Exception ?: VoiceConnectionInternalException("$what failed with $e; the socket was closed", e)
}
