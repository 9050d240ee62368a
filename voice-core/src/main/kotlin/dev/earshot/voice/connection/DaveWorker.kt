package dev.earshot.voice.connection

import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.asCoroutineDispatcher
import java.util.concurrent.Executors

/**
 * Where the DAVE gateway messages of every connection in the process are processed (key packages, proposals,
 * commits, welcomes, transitions): one daemon thread, `earshot-dave`. MLS work is public-key and hash crypto of
 * milliseconds per message; on `Dispatchers.Default` it held the threads every connection's receive clock runs on, so
 * members joining five channels at once made all 200 connections of a process produce about seven ticks late each.
 * One thread keeps that work to one core; each connection's messages still run in the order they came, because its
 * gateway loop waits for each one ([DaveBridge]).
 */
internal object DaveWorker {
    val dispatcher: CoroutineDispatcher by lazy {
        Executors.newSingleThreadExecutor { r -> Thread(r, "earshot-dave").apply { isDaemon = true } }.asCoroutineDispatcher()
    }
}
