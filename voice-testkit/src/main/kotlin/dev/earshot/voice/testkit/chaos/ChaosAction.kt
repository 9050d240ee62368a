package dev.earshot.voice.testkit.chaos

import kotlin.time.Duration
import kotlin.time.toJavaDuration
import kotlin.time.toKotlinDuration

/**
 * A point in one voice gateway connection at which a [ChaosScript] can act. At each step the [ChaosVoiceServer] runs
 * the step's actions in order and then goes on as a normal voice server would, unless an action ended the connection
 * ([ChaosAction.Close], [ChaosAction.Drop], [ChaosAction.Silence]) or replaced the server's own reply (see
 * [ChaosAction.isReply]).
 */
public enum class ChaosStep {
    /** The WebSocket is open and Hello not yet sent. The normal reply is Hello (op 8). */
    BEFORE_HELLO,

    /** Hello was sent; the client's Identify or Resume has not been handled yet. No reply of its own. */
    AFTER_HELLO,

    /** The client's Identify (op 0) arrived. The normal reply is Ready (op 2). */
    AFTER_IDENTIFY,

    /** Ready was sent. No reply of its own (the client's Select Protocol comes next). */
    AFTER_READY,

    /** The client's Select Protocol (op 1) arrived. The normal reply is Session Description (op 4). */
    AFTER_SELECT_PROTOCOL,

    /** Session Description was sent: the handshake is complete; later actions misbehave on a live connection. */
    AFTER_SESSION_DESCRIPTION,

    /** The client's Resume (op 7) arrived. The normal reply is Resumed (op 9), or close 4006 without a session. */
    AFTER_RESUME,

    /** Resumed was sent: the resume is complete. */
    AFTER_RESUMED,
}

/** How a connection answers the client's heartbeats (op 3) from the moment a [ChaosAction.Heartbeats] action runs. */
public enum class HeartbeatMode {
    /** Op 6 with the client's nonce, as Discord does. The default. */
    NORMAL,

    /** No op 6 at all: the client should notice the dead connection. */
    NEVER_ACK,

    /** Op 6 with a nonce the client never sent (its nonce plus one). */
    WRONG_NONCE,

    /** Op 6 three times for each heartbeat. */
    TRIPLE_ACK,
}

/** What [ChaosAction.Garbage] sends. */
public enum class GarbageKind {
    /** A text frame that is not JSON (`{"op": 2, "d": {` cut short, stray bytes). */
    INVALID_JSON,

    /** JSON that is not an object: a number, a string, an array, `null`. */
    NOT_AN_OBJECT,

    /** An object whose `op` is a string, a float, negative, or missing. */
    BAD_OP,

    /** Known opcodes whose `d` fields have the wrong types (strings for numbers, objects for arrays, arrays for objects). */
    WRONG_TYPES,

    /** A binary frame of random bytes (the client reads a 3-byte prefix: seq, opcode). */
    BINARY_GARBAGE,

    /** A binary frame shorter than its 3-byte prefix (0 to 2 bytes). */
    SHORT_BINARY,

    /** Text that is not valid UTF-8 sent as a text frame (lone surrogates encoded, 0xFF bytes). */
    INVALID_UTF8,
}

/**
 * One thing a [ChaosVoiceServer] does at a [ChaosStep]: plain data, so tests can build scripts by hand or generate them
 * at random. Counts are messages unless said otherwise; every flood is written as the client reads it (the server
 * waits while more than a few megabytes are queued), so a flood costs the server no memory.
 */
public sealed class ChaosAction {
    /**
     * True for actions that stand in for the server's own reply at their step: the server then does not send its
     * normal Hello, Ready, Session Description or Resumed after the step's actions.
     */
    public open val isReply: Boolean get() = false

    /** True for actions after which the connection is gone or never answers again. */
    public open val isTerminal: Boolean get() = false

    // ---- ending the connection ----

    /** Sends a close frame with [code] (any code, even ones RFC 6455 reserves) and [reason], then hangs up. */
    public data class Close @JvmOverloads constructor(public val code: Int, public val reason: String = "") : ChaosAction() {
        override val isTerminal: Boolean get() = true
    }

    /**
     * Ends the TCP connection without a close frame: an orderly end of stream (FIN) or, with [reset], a TCP reset
     * (RST, through SO_LINGER 0). The client sees an abnormal closure (1006).
     */
    public data class Drop @JvmOverloads constructor(public val reset: Boolean = false) : ChaosAction() {
        override val isTerminal: Boolean get() = true
    }

    /** Stops answering for good: no reply, no heartbeat ACK, nothing, until the client closes the connection. */
    public data object Silence : ChaosAction() {
        override val isTerminal: Boolean get() = true
    }

    /**
     * Stops answering for [duration]: messages that arrive meanwhile (heartbeats too) wait and are handled after. An
     * infinite [duration] is [Silence]. A client that closes the connection ends the stall.
     */
    public class Stall(@get:JvmSynthetic public val duration: Duration) : ChaosAction() {
        /** A stall of [duration], for Java. */
        public constructor(duration: java.time.Duration) : this(duration.toKotlinDuration())

        /** [duration] for Java. */
        @get:JvmName("getDuration")
        public val javaDuration: java.time.Duration get() = duration.toJavaDuration()

        override fun equals(other: Any?): Boolean = other is Stall && other.duration == duration

        override fun hashCode(): Int = duration.hashCode()

        override fun toString(): String = "Stall(duration=$duration)"
    }

    // ---- raw and broken frames ----

    /** Sends [text] as one text frame, exactly as given. */
    public data class SendText(public val text: String) : ChaosAction() {
        override fun toString(): String = "SendText(${text.length} chars: ${text.take(60)})"
    }

    /** Sends [bytes] as one binary frame, exactly as given (no sequence prefix is added). */
    public class SendBinary(public val bytes: ByteArray) : ChaosAction() {
        override fun toString(): String = "SendBinary(${bytes.size} bytes)"
    }

    /** Sends [count] frames of malformed input of [kind], chosen with [seed]. */
    public data class Garbage @JvmOverloads constructor(public val kind: GarbageKind, public val count: Int = 1, public val seed: Long = 0) : ChaosAction()

    /**
     * Sends one text frame of [depth] nested JSON arrays (`[[[...]]]`, or objects `{"a":{"a":...}}` with [objects]),
     * closed properly unless [unclosed]; 5,000 to 1,000,000 deep is where recursive parsers overflow their stack.
     */
    public data class Nested @JvmOverloads constructor(public val depth: Int, public val objects: Boolean = false, public val unclosed: Boolean = false) : ChaosAction()

    /**
     * Sends one frame of [bytes] bytes: a text frame holding an unknown opcode whose `d` is a string of that size
     * (valid JSON), or with [binary] a binary frame of that size (prefix seq 0, opcode 25, zeros after).
     */
    public data class HugeFrame @JvmOverloads constructor(public val bytes: Int, public val binary: Boolean = false) : ChaosAction()

    /**
     * Sends a message of opcode [op] (default 18, client flags) whose string fields (`user_id` and every other one it
     * has) are [length] characters long: a huge string where a snowflake is expected.
     */
    public data class HugeString @JvmOverloads constructor(public val length: Int, public val op: Int = 18) : ChaosAction()

    /** Sends opcode [op] with the raw JSON text [d] as its payload and, unless [withSeq] is false, the next `seq`. */
    public data class SendOp @JvmOverloads constructor(public val op: Int, public val d: String, public val withSeq: Boolean = true) : ChaosAction() {
        override fun toString(): String = "SendOp($op, ${d.take(60)})"
    }

    // ---- floods ----

    /** [count] Speaking messages (op 5), each for a distinct SSRC and user (ids from [firstUserId]). */
    public data class SpeakingFlood @JvmOverloads constructor(public val count: Int, public val firstUserId: Long = 1_000_000L) : ChaosAction()

    /**
     * [messages] Clients Connect messages (op 11) of [idsPerMessage] user ids each, all distinct (from [firstUserId]).
     * 45,000 ids make a message of about 1 MB.
     */
    public data class ClientsConnectFlood @JvmOverloads constructor(public val messages: Int, public val idsPerMessage: Int, public val firstUserId: Long = 10_000_000L) : ChaosAction()

    /** [count] Client Disconnect messages (op 13) for distinct users (from [firstUserId]), none of whom connected. */
    public data class ClientDisconnectFlood @JvmOverloads constructor(public val count: Int, public val firstUserId: Long = 1_000_000L) : ChaosAction()

    /** [count] Client Flags (op 18) or, with [platform], Client Platform (op 20) messages for distinct users. */
    public data class ClientFlagsFlood @JvmOverloads constructor(public val count: Int, public val platform: Boolean = false, public val firstUserId: Long = 1_000_000L) : ChaosAction()

    /** [count] unsolicited Heartbeat ACKs (op 6) with nonces the client never sent. */
    public data class HeartbeatAckFlood(public val count: Int) : ChaosAction()

    /** [count] Heartbeat requests (op 3 from the server: "send a heartbeat now"). */
    public data class HeartbeatRequestFlood(public val count: Int) : ChaosAction()

    /** [count] messages of opcode [op], one the client does not know (default 99), with a small object as `d`. */
    public data class UnknownOpFlood @JvmOverloads constructor(public val count: Int, public val op: Int = 99) : ChaosAction()

    // ---- bogus handshake messages (each replaces the server's own reply at its step) ----

    /**
     * Hello (op 8) with [heartbeatInterval] as the raw JSON value of `heartbeat_interval`: `"NaN"`, `"Infinity"`,
     * `"1e300"`, `"0"`, `"-5"`, `"\"x\""`... Default: the server's configured interval.
     */
    public data class SendHello @JvmOverloads constructor(public val heartbeatInterval: String? = null) : ChaosAction() {
        override val isReply: Boolean get() = true
    }

    /**
     * Ready (op 2) with the given fields in place of the server's: [ssrc] (0 and values above 2^32-1 are bogus),
     * [ip] (a hostname instead of a literal address is bogus), [port] (0 or 70000), [modes] (empty, or unknown names).
     * Null keeps the server's own value (a fresh SSRC, 127.0.0.1, its UDP port, its modes).
     */
    public data class SendReady @JvmOverloads constructor(
        public val ssrc: Long? = null,
        public val ip: String? = null,
        public val port: Int? = null,
        public val modes: List<String>? = null,
    ) : ChaosAction() {
        override val isReply: Boolean get() = true
    }

    /**
     * Session Description (op 4) with a key of [keyLength] random bytes (32 is right; 0, 31 and 33 are bogus) and
     * [mode] (null: the mode the client selected, or the server's first mode before any Select Protocol; a name the
     * client did not select or does not know is bogus), [daveProtocolVersion] (default
     * [ChaosServerConfig.daveProtocolVersion]). Sent at [ChaosStep.AFTER_IDENTIFY] it comes before Ready. The server
     * keeps [keyLength] 32 keys to decrypt the client's audio.
     */
    public data class SendSessionDescription @JvmOverloads constructor(
        public val keyLength: Int = 32,
        public val mode: String? = null,
        public val daveProtocolVersion: Int? = null,
    ) : ChaosAction() {
        override val isReply: Boolean get() = true
    }

    /** Resumed (op 9), also where no Resume was asked for (after Identify it is bogus). */
    public data object SendResumed : ChaosAction() {
        override val isReply: Boolean get() = true
    }

    // ---- heartbeats ----

    /** From now on answers the client's heartbeats as [mode] says. */
    public data class Heartbeats(public val mode: HeartbeatMode) : ChaosAction()

    // ---- DAVE ----

    /**
     * A DAVE binary message (opcode [op]: 25 external sender, 27 proposals, 29 announce commit, 30 welcome) whose first
     * MLS length field declares [declaredLength] bytes (up to 1 GiB; QUIC-style variable-length integer of
     * [lengthBytes] 1, 2, 4 or 8 bytes, 8 being a form MLS forbids) followed by only [presentBytes] bytes. Opcodes 27,
     * 29 and 30 get the fields that come before the length (operation type 0; transition id 1).
     */
    public data class DaveLengthBomb @JvmOverloads constructor(
        public val op: Int,
        public val declaredLength: Long,
        public val lengthBytes: Int = 4,
        public val presentBytes: Int = 8,
    ) : ChaosAction()

    /** A DAVE binary message of opcode [op] cut to [bytes] bytes after the 3-byte prefix (0 to 2 is short of any field). */
    public data class DaveTruncated(public val op: Int, public val bytes: Int) : ChaosAction()

    // ---- audio ----

    /**
     * Maps [ssrc] to [userId] (op 5) and sends [frames] RTP packets of Opus silence from it over UDP, 20 ms apart,
     * encrypted with the session's key (needs a Session Description with a 32-byte key and a known client address).
     */
    public data class SendAudio @JvmOverloads constructor(public val frames: Int, public val ssrc: Long = 4242, public val userId: Long = 4242) : ChaosAction()
}
