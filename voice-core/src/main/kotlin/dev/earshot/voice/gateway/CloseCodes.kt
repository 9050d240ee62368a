package dev.earshot.voice.gateway

/** What the connection does after the voice WebSocket closed with a given code (docs/protocol.md §2.6). */
internal enum class CloseAction {
    /** Open a new socket and Resume (op 7) with the last `seq`; the UDP socket, SSRC and key stay. */
    RESUME,

    /** Open a new socket and Identify again (op 0): new SSRC, new UDP socket, new key. */
    RECONNECT,

    /** Do not reconnect: the connection ends with a typed cause. */
    STOP,
}

/** The voice gateway close codes and Earshot's policy for each (docs/protocol.md §2.6). */
internal object CloseCodes {
    const val NORMAL = 1000
    const val ABNORMAL = 1006
    const val UNKNOWN_OPCODE = 4001
    const val FAILED_TO_DECODE = 4002
    const val NOT_AUTHENTICATED = 4003
    const val AUTHENTICATION_FAILED = 4004
    const val ALREADY_AUTHENTICATED = 4005
    const val SESSION_NO_LONGER_VALID = 4006
    const val SESSION_TIMEOUT = 4009
    const val SERVER_NOT_FOUND = 4011
    const val UNKNOWN_PROTOCOL = 4012
    const val WEBRTC_CRASHED = 4013
    const val DISCONNECTED = 4014
    const val VOICE_SERVER_CRASHED = 4015
    const val UNKNOWN_ENCRYPTION_MODE = 4016
    const val E2EE_REQUIRED = 4017
    const val BAD_REQUEST = 4020
    const val RATE_LIMITED = 4021
    const val CALL_TERMINATED = 4022

    /** Used by Earshot itself when it closes a socket whose heartbeats went unacknowledged (a zombie connection). */
    const val LOCAL_HEARTBEAT_TIMEOUT = 4900

    /** Used by Earshot when it leaves a socket on purpose (moving to a new endpoint). */
    const val LOCAL_MOVING = 4901

    fun actionFor(code: Int): CloseAction = when (code) {
        // Discord says try resuming; 4013 is the unofficial "WebRTC crashed, try resuming".
        VOICE_SERVER_CRASHED, WEBRTC_CRASHED, LOCAL_HEARTBEAT_TIMEOUT -> CloseAction.RESUME
        // Not resumable: a new session (new op 0) is needed. 4004 is not retried: the token is wrong, and only a
        // new voice server update from the main gateway can fix it.
        AUTHENTICATION_FAILED, DISCONNECTED, E2EE_REQUIRED, RATE_LIMITED, CALL_TERMINATED -> CloseAction.STOP
        LOCAL_MOVING -> CloseAction.RECONNECT
        else -> if (code < 4000) CloseAction.RESUME else CloseAction.RECONNECT
    }

    fun describe(code: Int): String = when (code) {
        NORMAL -> "normal closure"
        ABNORMAL -> "connection lost without a close frame"
        UNKNOWN_OPCODE -> "unknown opcode"
        FAILED_TO_DECODE -> "failed to decode payload"
        NOT_AUTHENTICATED -> "not authenticated"
        AUTHENTICATION_FAILED -> "authentication failed (bad voice token)"
        ALREADY_AUTHENTICATED -> "already authenticated"
        SESSION_NO_LONGER_VALID -> "session no longer valid"
        SESSION_TIMEOUT -> "session timeout"
        SERVER_NOT_FOUND -> "voice server not found"
        UNKNOWN_PROTOCOL -> "unknown protocol"
        WEBRTC_CRASHED -> "WebRTC crashed"
        DISCONNECTED -> "disconnected (kicked, channel left, or main gateway session dropped)"
        VOICE_SERVER_CRASHED -> "voice server crashed"
        UNKNOWN_ENCRYPTION_MODE -> "unknown encryption mode"
        E2EE_REQUIRED -> "end-to-end encryption (DAVE) required"
        BAD_REQUEST -> "bad request"
        RATE_LIMITED -> "disconnected: rate limited"
        CALL_TERMINATED -> "disconnected: call terminated (channel deleted or voice server changed)"
        LOCAL_HEARTBEAT_TIMEOUT -> "heartbeats not acknowledged"
        LOCAL_MOVING -> "moving to a new voice server"
        else -> "close code $code"
    }
}
