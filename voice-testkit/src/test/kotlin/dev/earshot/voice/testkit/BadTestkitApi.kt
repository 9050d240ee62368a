package dev.earshot.voice.testkit

import java.util.concurrent.CompletableFuture
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.emptyFlow

/** Every Kotlin-only shape the testkit's signature check must catch, for `TestkitPublicApiTest`. Never used otherwise. */
class BadTestkitApi {
    val timeout: Duration = 1.seconds

    suspend fun wait(timeout: Duration) = Unit

    fun script(build: MemberScript.Builder.() -> Unit): MemberScript = MemberScript(build)

    fun packets(): Flow<CapturedPacket> = emptyFlow()

    fun done(): CompletableFuture<Unit> = CompletableFuture.completedFuture(Unit)

    fun fine(): String = "ok"

    @JvmSynthetic
    fun javaOnlyHidden(timeout: Duration): Duration = timeout

    companion object {
        fun create(): BadTestkitApi = BadTestkitApi()
    }
}

/** An object with behaviour, which Java would reach through `INSTANCE`. */
object BadTestkitObject {
    fun act(): Int = 1
}
