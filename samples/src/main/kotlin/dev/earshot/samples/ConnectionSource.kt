package dev.earshot.samples

import dev.earshot.voice.connection.VoiceConnection
import kotlinx.coroutines.CoroutineScope

/**
 * Where the demo's voice connection comes from. The recorder only needs a connected [VoiceConnection] and a way to
 * leave, so the embedded test server ([EmbeddedSource]) and a real Discord channel through Kord
 * ([dev.earshot.samples.KordSource]) are interchangeable.
 */
interface ConnectionSource {
    /**
     * Joins the channel and returns once audio can flow. The connection's coroutines run in [scope]; [log] prints a
     * line of progress for the user.
     */
    suspend fun connect(options: DemoOptions, scope: CoroutineScope, log: (String) -> Unit): ConnectedChannel
}

/** A joined voice channel: the [connection], names for its users, and how to leave. */
interface ConnectedChannel {
    /** The connection whose receiver is recorded. */
    val connection: VoiceConnection

    /** One line saying what is being recorded, for the console. */
    val description: String

    /** The users expected to speak, in display order (more may turn up); may be empty. */
    val expectedUsers: List<Long>

    /** A display name for [userId], or null when none is known (the id is shown then). */
    fun nameOf(userId: Long): String?

    /** Called once the recording listens: starts whatever should make sound (the embedded speakers). */
    suspend fun recordingStarted() {}

    /**
     * Leaves the channel and releases everything this source started (the connection, servers, gateway sessions).
     * Called exactly once; must not hang (the caller bounds it anyway).
     */
    suspend fun leave()
}
