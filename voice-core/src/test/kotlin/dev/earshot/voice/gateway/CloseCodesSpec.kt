package dev.earshot.voice.gateway

import io.kotest.core.spec.style.FunSpec
import io.kotest.datatest.withData
import io.kotest.matchers.shouldBe

class CloseCodesSpec : FunSpec({
    // docs/protocol.md §2.6, row by row.
    val expected = mapOf(
        1000 to CloseAction.RESUME, 1001 to CloseAction.RESUME, 1006 to CloseAction.RESUME, 1011 to CloseAction.RESUME,
        4001 to CloseAction.RECONNECT, 4002 to CloseAction.RECONNECT, 4003 to CloseAction.RECONNECT,
        4004 to CloseAction.STOP, 4005 to CloseAction.RECONNECT, 4006 to CloseAction.RECONNECT,
        4009 to CloseAction.RECONNECT, 4011 to CloseAction.RECONNECT, 4012 to CloseAction.RECONNECT,
        4013 to CloseAction.RESUME, 4014 to CloseAction.STOP, 4015 to CloseAction.RESUME, 4016 to CloseAction.RECONNECT,
        4017 to CloseAction.STOP, 4020 to CloseAction.RECONNECT, 4021 to CloseAction.STOP, 4022 to CloseAction.STOP,
        4999 to CloseAction.RECONNECT,
    )
    withData(nameFn = { (code, action) -> "$code -> $action" }, expected.entries.map { it.toPair() }) { (code, action) ->
        CloseCodes.actionFor(code) shouldBe action
    }
})
