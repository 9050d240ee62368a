package dev.earshot.voice.transcribe

import dev.earshot.voice.javaapi.Utterance
import dev.earshot.voice.javaapi.UtteranceListener
import dev.earshot.voice.javaapi.VoiceSink
import dev.earshot.voice.javaapi.internal.CoreSinks
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow
import org.slf4j.LoggerFactory
import java.nio.file.Path
import java.time.Duration
import java.util.concurrent.CompletableFuture
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.Executor
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicLong
import java.util.concurrent.locks.ReentrantLock
import kotlin.concurrent.withLock

/**
 * Transcribes utterances off the receive path: a bounded queue of [SpeechClip]s served by [workers] daemon threads
 * (`earshot-transcribe-N`) that call the [Transcriber]. Submitting never blocks: when [queueCapacity] clips are
 * already waiting, the oldest waiting clip is dropped (counted in [TranscriptionStats.dropped], its future failed
 * with [TranscriptionDroppedException], listeners told through [TranscriptListener.onDropped]), so an engine that
 * falls behind loses its oldest backlog, never the receiver's schedule.
 *
 * Results come out in completion order as a Flow ([results], Kotlin), to listeners on an executor of the caller's
 * ([addListener]), and per clip as a [CompletableFuture] ([submit]). For transcript files in time order use
 * [TranscriptionSink], which knows which utterances are still open.
 *
 * Defaults: 1 worker, 16 waiting clips. [close] fails what is waiting, interrupts the workers (an engine process is
 * then killed) and closes the transcriber if it is [AutoCloseable].
 */
public class Transcription @JvmOverloads constructor(
    private val transcriber: Transcriber,
    /** Worker threads calling the transcriber (engines needing a core each should get at most the core count). */
    public val workers: Int = 1,
    /** Clips that may wait for a worker; beyond it the oldest waiting one is dropped. */
    public val queueCapacity: Int = 16,
) : AutoCloseable {
    init {
        require(workers >= 1) { "workers must be at least 1, was $workers" }
        require(queueCapacity >= 1) { "queueCapacity must be at least 1, was $queueCapacity" }
    }

    internal fun interface Done {
        fun done(clip: SpeechClip, transcript: Transcript?, failure: Throwable?)
    }

    private class Job(val sequence: Long, val clip: SpeechClip, val submittedNanos: Long, val done: Done)

    private val lock = ReentrantLock()
    private val available = lock.newCondition()
    private val queue = ArrayDeque<Job>()
    private var busy = 0
    private var closed = false
    private val idleWaiters = ArrayList<CompletableFuture<Void?>>()
    private val nextSequence = AtomicLong()
    private val submitted = AtomicLong()
    private val completed = AtomicLong()
    private val dropped = AtomicLong()
    private val failed = AtomicLong()
    private val listenerDrops = AtomicLong()
    private val listeners = CopyOnWriteArrayList<ListenerSlot>()
    private val threads = List(workers) { i ->
        Thread(::work, "earshot-transcribe-${INSTANCES.incrementAndGet()}-$i").apply { isDaemon = true; start() }
    }

    /**
     * Queues [clip] and returns the future of its transcript: completed on a worker thread with the transcript, or
     * exceptionally with [TranscriptionDroppedException] (the queue overflowed), [TranscriptionClosedException] (closed
     * first) or the transcriber's exception. Never blocks.
     */
    public fun submit(clip: SpeechClip): CompletableFuture<Transcript> {
        val future = CompletableFuture<Transcript>()
        enqueue(clip) { _, t, e -> if (t != null) future.complete(t) else future.completeExceptionally(e!!) }
        return future
    }

    /** [submit] for an utterance of voice-java-api's `Sinks.speechSegments`. */
    public fun submit(utterance: Utterance): CompletableFuture<Transcript> = submit(SpeechClip.of(utterance))

    /**
     * A listener for voice-java-api's `Sinks.speechSegments` that submits every utterance (results go to the
     * listeners, [results] and files as usual): `voice.listen(Sinks.speechSegments(transcription.utteranceListener(), executor))`.
     */
    public fun utteranceListener(): UtteranceListener = UtteranceListener { submit(it) }

    /**
     * For Java: a sink for `JavaVoiceConnection.listen` that transcribes the channel as [TranscriptionSink] does, with
     * its defaults: utterances cut per speaker, transcripts in order of their start written to [TranscriptFiles] in
     * [filesDir] (`transcript.vtt`, `.srt`, `.jsonl` and per-user files). Transcripts also reach this transcription's
     * listeners, in the order they finish.
     */
    public fun sink(filesDir: Path): VoiceSink = CoreSinks.wrap<VoiceSink>(TranscriptionSink(this, filesDir))

    /**
     * For Java: as [sink], and each transcript, in order of its start, to [listener] on [executor] (a single-thread
     * executor keeps that order); [filesDir] null writes no files.
     */
    public fun sink(filesDir: Path?, listener: TranscriptListener, executor: Executor): VoiceSink =
        CoreSinks.wrap<VoiceSink>(TranscriptionSink(this, filesDir, onTranscript = { t -> executor.execute { listener.onTranscript(t) } }))

    /** Queues [clip] with its own completion call; returns its sequence number. */
    internal fun enqueue(clip: SpeechClip, done: Done): Long {
        val job = Job(nextSequence.getAndIncrement(), clip, System.nanoTime(), done)
        var overflow: Job? = null
        val accepted = lock.withLock {
            if (closed) return@withLock false
            submitted.incrementAndGet()
            if (queue.size >= queueCapacity) overflow = queue.removeFirst()
            queue.addLast(job)
            available.signal()
            true
        }
        if (!accepted) {
            done.done(clip, null, TranscriptionClosedException())
            return job.sequence
        }
        overflow?.let { old ->
            dropped.incrementAndGet()
            log.debug("transcription queue full ({} waiting): dropped clip #{} {}", queueCapacity, old.sequence, old.clip)
            old.done.done(old.clip, null, TranscriptionDroppedException(old.clip))
            notify { it.onDropped(old.clip) }
        }
        return job.sequence
    }

    /**
     * Every transcript from now on, in completion order, while collected (Kotlin). A collector that falls more than
     * 256 transcripts behind loses the newest ones, counted in [TranscriptionStats.listenerDrops].
     */
    @get:JvmSynthetic
    public val results: Flow<Transcript>
        get() = callbackFlow {
            val subscription = subscribe(object : TranscriptListener {
                override fun onTranscript(transcript: Transcript) {
                    if (trySend(transcript).isFailure) listenerDrops.incrementAndGet()
                }
            }, null)
            awaitClose { subscription.close() }
        }.buffer(RESULT_BUFFER)

    /**
     * Calls [listener] for every transcript, dropped clip and failure from now on, one call at a time, on [executor]
     * (a listener more than 1024 calls behind loses the newest, counted in [TranscriptionStats.listenerDrops]; one
     * that throws is logged and keeps being called). Close the returned subscription to stop.
     */
    public fun addListener(listener: TranscriptListener, executor: Executor): TranscriptSubscription = subscribe(listener, executor)

    private fun subscribe(listener: TranscriptListener, executor: Executor?): TranscriptSubscription {
        val slot = ListenerSlot(listener, executor)
        listeners += slot
        return TranscriptSubscription { listeners -= slot }
    }

    /** The counters so far. */
    public fun stats(): TranscriptionStats {
        val (queued, inProgress) = lock.withLock { queue.size to busy }
        return TranscriptionStats(submitted.get(), completed.get(), dropped.get(), failed.get(), queued, inProgress, listenerDrops.get())
    }

    /** A future completed once no clip is waiting or being transcribed (at once when idle now, or when closed). */
    public fun idle(): CompletableFuture<Void?> {
        val future = CompletableFuture<Void?>()
        val now = lock.withLock {
            if (closed || (queue.isEmpty() && busy == 0)) true else { idleWaiters += future; false }
        }
        if (now) future.complete(null)
        return future
    }

    /**
     * Stops: waiting clips fail with [TranscriptionClosedException], workers are interrupted and joined (at most 10 s
     * in all), then the transcriber is closed if it is [AutoCloseable]. Idempotent.
     */
    override fun close() {
        val (waiting, waiters) = lock.withLock {
            if (closed) return
            closed = true
            available.signalAll()
            val w = queue.toList()
            queue.clear()
            w to idleWaiters.toList().also { idleWaiters.clear() }
        }
        for (job in waiting) job.done.done(job.clip, null, TranscriptionClosedException())
        threads.forEach { it.interrupt() }
        val deadline = System.nanoTime() + CLOSE_WAIT.toNanos()
        for (t in threads) t.join(maxOf(1L, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())))
        waiters.forEach { it.complete(null) }
        (transcriber as? AutoCloseable)?.close()
    }

    private fun work() {
        while (true) {
            val job = lock.withLock {
                while (queue.isEmpty() && !closed) {
                    try {
                        available.await()
                    } catch (_: InterruptedException) {
                        if (closed) return
                    }
                }
                if (closed) return
                busy++
                queue.removeFirst()
            }
            var transcript: Transcript? = null
            var failure: Throwable? = null
            try {
                val recognition = transcriber.transcribe(job.clip)
                transcript = Transcript.of(job.sequence, job.clip, recognition, Duration.ofNanos(System.nanoTime() - job.submittedNanos))
                completed.incrementAndGet()
            } catch (e: Exception) {
                failure = e
                failed.incrementAndGet()
                log.debug("transcription of clip #{} {} failed", job.sequence, job.clip, e)
            }
            try {
                job.done.done(job.clip, transcript, failure)
            } catch (e: Exception) {
                log.warn("a transcription callback threw", e)
            }
            if (transcript != null) notify { it.onTranscript(transcript) } else notify { it.onFailed(job.clip, failure!!) }
            val waiters = lock.withLock {
                busy--
                if (queue.isEmpty() && busy == 0 && idleWaiters.isNotEmpty()) idleWaiters.toList().also { idleWaiters.clear() } else emptyList()
            }
            waiters.forEach { it.complete(null) }
            if (Thread.interrupted() && isClosed()) return
        }
    }

    private fun isClosed(): Boolean = lock.withLock { closed }

    private inline fun notify(crossinline call: (TranscriptListener) -> Unit) {
        for (slot in listeners) slot.run { call(it) }
    }

    /** One listener: calls run on its executor one at a time, in order, at most [LISTENER_BACKLOG] pending. */
    private inner class ListenerSlot(private val listener: TranscriptListener, private val executor: Executor?) {
        private val pending = ArrayDeque<() -> Unit>()
        private var running = false

        fun run(call: (TranscriptListener) -> Unit) {
            if (executor == null) {
                safely { call(listener) }
                return
            }
            val start = synchronized(pending) {
                if (pending.size >= LISTENER_BACKLOG) {
                    listenerDrops.incrementAndGet()
                    return
                }
                pending.addLast { call(listener) }
                if (running) false else { running = true; true }
            }
            if (start) {
                try {
                    executor.execute(::drain)
                } catch (e: Exception) {
                    log.warn("a transcript listener's executor refused a task", e)
                    synchronized(pending) { pending.clear(); running = false }
                }
            }
        }

        private fun drain() {
            while (true) {
                val next: (() -> Unit)? = synchronized(pending) {
                    pending.removeFirstOrNull().also { if (it == null) running = false }
                }
                if (next == null) return
                safely(next)
            }
        }

        private inline fun safely(call: () -> Unit) {
            try {
                call()
            } catch (e: Exception) {
                log.warn("a transcript listener threw", e)
            }
        }
    }

    private companion object {
        val log = LoggerFactory.getLogger(Transcription::class.java)
        val INSTANCES = AtomicLong()
        val CLOSE_WAIT: Duration = Duration.ofSeconds(10)
        const val RESULT_BUFFER = 256
        const val LISTENER_BACKLOG = 1024
    }
}

/**
 * Receives what a [Transcription] produces; see [Transcription.addListener]. Only [onTranscript] must be implemented.
 */
public fun interface TranscriptListener {
    /** A clip was transcribed (its text may be empty). */
    public fun onTranscript(transcript: Transcript)

    /** A waiting clip was dropped because the queue was full. */
    public fun onDropped(clip: SpeechClip) {}

    /** The transcriber failed on a clip. */
    public fun onFailed(clip: SpeechClip, cause: Throwable) {}
}

/** A listener's registration; [close] stops the calls (one already running finishes). */
public fun interface TranscriptSubscription : AutoCloseable {
    /** Stops the calls. Idempotent. */
    override fun close()
}

/**
 * A [Transcription]'s counters.
 *
 * @property submitted clips submitted before [Transcription.close].
 * @property completed clips transcribed.
 * @property dropped clips dropped from a full queue without being transcribed.
 * @property failed clips the transcriber failed on.
 * @property queued clips waiting now.
 * @property inProgress clips being transcribed now.
 * @property listenerDrops results a slow listener or Flow collector did not get.
 */
public class TranscriptionStats(
    public val submitted: Long,
    public val completed: Long,
    public val dropped: Long,
    public val failed: Long,
    public val queued: Int,
    public val inProgress: Int,
    public val listenerDrops: Long,
) {
    override fun toString(): String =
        "TranscriptionStats(submitted=$submitted, completed=$completed, dropped=$dropped, failed=$failed, queued=$queued, " +
            "inProgress=$inProgress, listenerDrops=$listenerDrops)"
}

/** Why a clip was not transcribed by a [Transcription]. */
public open class TranscriptionException(message: String, cause: Throwable? = null) : RuntimeException(message, cause)

/** The clip waited in a full queue and was dropped for a newer one: the engine fell behind. */
public class TranscriptionDroppedException(
    /** The dropped clip. */
    public val clip: SpeechClip,
) : TranscriptionException("dropped: the transcription queue was full ($clip)")

/** The [Transcription] was closed before the clip was transcribed. */
public class TranscriptionClosedException : TranscriptionException("the transcription was closed")
