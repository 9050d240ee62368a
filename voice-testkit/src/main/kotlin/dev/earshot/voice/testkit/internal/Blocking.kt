package dev.earshot.voice.testkit.internal

import java.util.concurrent.TimeoutException
import kotlin.time.Duration
import kotlin.time.toKotlinDuration
import kotlinx.coroutines.TimeoutCancellationException
import kotlinx.coroutines.runBlocking

/**
 * Runs a suspending wait for Java callers: blocks the calling thread for at most [timeout] and turns the coroutine
 * timeout into [TimeoutException] (the JDK's, which Java code catches like `Future.get`'s). Interrupting the thread
 * cancels the wait and throws [InterruptedException]. Any other failure of [wait] is rethrown as it is.
 */
internal fun <T> blockingWait(timeout: java.time.Duration, what: () -> String, wait: suspend (Duration) -> T): T {
    require(!timeout.isNegative) { "timeout must not be negative" }
    return runBlocking {
        try {
            wait(timeout.toKotlinDuration())
        } catch (e: TimeoutCancellationException) {
            throw TimeoutException("${what()} within $timeout").apply { initCause(e) }
        }
    }
}
