package dev.earshot.voice.javaapi.badsample

import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flowOf
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds

/** Deliberately un-Java-like API: the negative case of the public-API checker. Never used otherwise. */
class BadApi {
    fun timeout(): Duration = 1.seconds
    fun onEvent(callback: (Int) -> Unit) = callback(1)
    suspend fun load(): String = "x"
    fun numbers(): Flow<Int> = flowOf(1)
    fun pairs(): List<Pair<Int, Int>> = emptyList()
    fun fine(): String = "ok"

    companion object {
        fun make(): BadApi = BadApi()
    }
}

/** A singleton: leaks `INSTANCE`. */
object BadSingleton {
    fun hello(): String = "hello"
}
