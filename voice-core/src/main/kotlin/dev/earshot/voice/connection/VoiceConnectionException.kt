package dev.earshot.voice.connection

/**
 * Why a voice connection failed to connect or ended on its own: the typed cause carried by
 * [VoiceConnection.closed] and thrown by [VoiceConnection.connect]. Messages say what happened and what to do.
 */
public sealed class VoiceConnectionException(message: String, cause: Throwable? = null) : Exception(message, cause)

/**
 * The voice server closed the connection. As a connection's end cause: a code after which Discord says not to
 * reconnect (docs/protocol.md §2.6): 4014 disconnected (kicked, moved out, or the main gateway session dropped), 4021 rate
 * limited, 4022 call terminated (channel deleted or voice server changed; a new voice server update may follow), 4004
 * bad token. As the cause inside [VoiceReconnectFailedException]: the last close before the connection gave up.
 */
public class VoiceGatewayClosedException(
    /** The WebSocket close code. */
    public val code: Int,
    /** The close reason the server gave, possibly empty. */
    public val reason: String,
    message: String,
) : VoiceConnectionException(message)

/**
 * Close code 4017: the channel requires DAVE end-to-end encryption and this connection did not offer it. This is a
 * configuration error, never retried: since March 2026 every non-stage Discord voice channel requires DAVE.
 */
public class DaveRequiredException(message: String) : VoiceConnectionException(message)

/** The voice server offered no transport encryption mode that Earshot can use (it needs an `*_rtpsize` AEAD mode). */
public class NoSupportedEncryptionModeException(
    /** The modes the server offered in Ready. */
    public val offered: List<String>,
) : VoiceConnectionException(
    "the voice server offered no usable encryption mode (offered: ${offered.joinToString()}; " +
        "Earshot needs aead_aes256_gcm_rtpsize or aead_xchacha20_poly1305_rtpsize)",
)

/**
 * The connection could not be (re)established: [attempts] consecutive attempts failed or did not stay healthy (see
 * [VoiceConnectionConfig.maxReconnectAttempts]); [cause] is the last failure (a refused socket, a handshake timeout,
 * IP discovery without answer, a close right after the handshake...).
 */
public class VoiceReconnectFailedException(
    /** How many attempts were made in a row. */
    public val attempts: Int,
    cause: Throwable?,
) : VoiceConnectionException("could not connect to the voice server after $attempts attempts: ${cause?.message ?: cause}", cause)

/** The voice server did not complete the handshake (Hello, Ready or Resumed, Session Description) in time. */
public class VoiceHandshakeTimeoutException(message: String) : VoiceConnectionException(message)

/**
 * The bot is no longer in the voice channel: the main gateway reported its own voice state without a channel (a
 * moderator disconnected it, it was kicked, or the channel was deleted). Not retried; join again to continue.
 */
public class VoiceChannelLeftException(
    /** The channel the connection was in, or null when it had none. */
    public val channelId: Long?,
) : VoiceConnectionException("the bot was removed from voice channel $channelId (its voice state has no channel any more); join again to continue")

/**
 * Something failed inside the connection that is neither a network failure nor a protocol violation by the server:
 * an [Error] such as a [StackOverflowError] while handling a pathological message, or a failure of Earshot itself.
 * [cause] is the original. The socket it happened on is closed and retried like a dropped one; as the cause inside
 * [VoiceReconnectFailedException] it means it kept happening. VM-fatal errors (out of memory, linkage errors) are
 * never wrapped: they propagate.
 */
public class VoiceConnectionInternalException(message: String, cause: Throwable) : VoiceConnectionException(message, cause)

/** Errors after which the JVM cannot be trusted to go on; everything else is contained per connection. */
internal fun Throwable.isVmFatal(): Boolean =
    (this is VirtualMachineError && this !is StackOverflowError) || this is LinkageError || javaClass.name == "java.lang.ThreadDeath"

/**
 * The voice server sent a message that breaks the voice gateway protocol in a way that retrying cannot mend: a
 * handshake field out of range or of the wrong kind (a key whose length does not fit the chosen mode, a mode that was
 * not offered, a heartbeat interval outside 1 ms to 1 hour, an IP that is not a literal address, a port outside
 * 1-65535), or a message in a state where it is not allowed (Resumed after an Identify). [field] names what was wrong.
 * Such errors are deterministic: the connection retries at most once and then ends with this cause.
 */
public class VoiceServerProtocolException(
    /** The message and field that was wrong, e.g. `"Ready.ip"`. */
    public val field: String,
    message: String,
) : VoiceConnectionException("the voice server broke the protocol ($field): $message")
