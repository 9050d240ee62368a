package dev.earshot.voice.testkit

import dev.earshot.voice.dave.DaveSession
import dev.earshot.voice.testkit.internal.MemberDave
import dev.earshot.voice.testkit.internal.blockingWait
import java.util.Collections
import java.util.concurrent.TimeoutException
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.Deferred
import kotlinx.coroutines.currentCoroutineContext
import kotlinx.coroutines.isActive
import kotlinx.coroutines.withTimeout

/**
 * A channel member played by the server (no client behind it); made by [TestChannel.addMember].
 * [sent] records every frame it sent, so a test can compare what a client received with the source.
 *
 * In a DAVE channel the member is a DAVE client of its own ([daveSession], Earshot's [dev.earshot.voice.dave.JvmDaveSession]):
 * it joins the channel's MLS group like any client and end-to-end encrypts its frames.
 */
public class ScriptedMember internal constructor(
    private val channel: TestChannel,
    /** The member's user id. */
    public val userId: String,
    /** The member's audio SSRC (announced in op 5). */
    public val ssrc: Long,
    /** The script it plays. */
    public val script: MemberScript,
    /** The op 5 speaking flags announced for it. */
    public val speaking: Int,
    /** The op 18 flags announced for it, or null for none. */
    public val clientFlags: Int?,
    /** The op 20 platform announced for it, or null for none. */
    public val platform: Int?,
) {
    // Not `internal lateinit var`: a lateinit property's backing field is as visible as the property, and an internal
    // one is public in bytecode, so Java users would see a `job` field.
    private lateinit var scriptJob: Deferred<Unit>

    /** The script's coroutine; set once by [TestChannel.addMember]. */
    internal var job: Deferred<Unit>
        get() = scriptJob
        set(value) {
            scriptJob = value
        }

    /** The member's DAVE client; null for a transport-only member. Set once, before the script starts. */
    internal var dave: MemberDave? = null

    /**
     * The member's own DAVE session (epoch, privacy code, stats), or null when it is transport-only: added with
     * `dave = false`, on a server without DAVE, or with a user or channel id that is not a numeric snowflake.
     */
    public val daveSession: DaveSession? get() = dave?.session
    private val sentList = Collections.synchronizedList(ArrayList<SentFrame>())

    /** True from [TestChannel.addMember] until it leaves (a [ScriptStep.Leave] or [leave]). */
    @Volatile public var isPresent: Boolean = true
        internal set

    /** Every frame sent so far, in order (speech and the silence frames ending each talk spurt). */
    public val sent: List<SentFrame> get() = synchronized(sentList) { sentList.toList() }

    /** True once the script has run to its end (or failed, or the member left, or the server closed). */
    public val isFinished: Boolean get() = job.isCompleted

    /**
     * For each RTP sequence number sent, how many DAVE transitions the member's session had executed when it encrypted
     * the frame (which key it used), for tests that tell frames a receiver could decrypt from those it never could.
     */
    internal val transitionsAtSend: MutableMap<Int, Long> = java.util.concurrent.ConcurrentHashMap()

    internal fun record(frame: SentFrame) {
        sentList += frame
    }

    /**
     * Waits until the script has finished, or the member left. Throws on [timeout], and rethrows what made the
     * script fail (a file that cannot be read, for example).
     */
    @JvmSynthetic
    public suspend fun awaitFinished(timeout: Duration = 60.seconds) {
        withTimeout(timeout) {
            try {
                job.await()
            } catch (e: CancellationException) {
                // Cancelled by leave() or the server's close: finished. Our own cancellation propagates.
                if (!job.isCancelled || !currentCoroutineContext().isActive) throw e
            }
        }
    }

    /**
     * Blocks until the script has finished, or the member left, for Java tests: throws [TimeoutException] after
     * [timeout], [InterruptedException] when the thread is interrupted, and rethrows what made the script fail.
     */
    @Throws(TimeoutException::class, InterruptedException::class)
    public fun awaitFinished(timeout: java.time.Duration) {
        blockingWait(timeout, { "member $userId did not finish its script" }) { awaitFinished(it) }
    }

    /** Stops the script and leaves the channel now (every client gets op 13). */
    public fun leave() {
        job.cancel()
        channel.removeMember(this)
    }

    override fun toString(): String = "ScriptedMember(user=$userId, ssrc=$ssrc)"
}
