package dev.earshot.samples

import java.nio.file.Path
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds

/**
 * What the `earshot` demo recorder was asked to do, from its command line and environment.
 *
 * @property duration how long to record; default 15 s. Ctrl-C ends a recording early, its files complete.
 * @property outDir where the files go; default `./earshot-recording`, relative to the working directory.
 * @property lossPercent embedded mode: random packet loss the server applies to the recorder's packets, 0..100;
 *   default 3. Some reordering and jitter come with any loss above 0, so concealment and FEC have work to do.
 * @property seed embedded mode: seeds the server and the network faults so runs repeat; null (the default) draws
 *   them at random.
 * @property discord where to record on Discord instead of the embedded server; null for the embedded demo.
 * @property kafka a Kafka bootstrap address (`host:port`) to publish the recording to as well (voice-kafka), for the
 *   `worker` program to write elsewhere; null (the default) publishes nothing.
 * @property kafkaTopic the topic to publish to.
 */
data class DemoOptions(
    val duration: Duration = DEFAULT_DURATION,
    val outDir: Path = Path.of(DEFAULT_OUT),
    val lossPercent: Double = DEFAULT_LOSS_PERCENT,
    val seed: Long? = null,
    val discord: DiscordTarget? = null,
    val kafka: String? = null,
    val kafkaTopic: String = "earshot.voice",
) {
    companion object {
        const val PROGRAM = "earshot"
        const val DEFAULT_OUT = "earshot-recording"
        const val DEFAULT_LOSS_PERCENT = 3.0
        val DEFAULT_DURATION: Duration = 15_000.milliseconds

        /** Longest recording the demo accepts: a day. */
        const val MAX_SECONDS = 86_400.0

        const val ENV_TOKEN = "EARSHOT_TOKEN"
        const val ENV_GUILD = "EARSHOT_GUILD"
        const val ENV_CHANNEL = "EARSHOT_CHANNEL"

        val USAGE: String = """
            |Usage: $PROGRAM [options]
            |
            |Records a voice channel: per-user WAV, the mixed WAV, per-user Ogg Opus (as received, no re-encoding) and a
            |PNG timeline of who spoke when, with a live speaking indicator and a summary at the end. Ctrl-C stops early;
            |the files are finished cleanly.
            |
            |Without a token it starts an embedded voice server (voice-testkit) on 127.0.0.1 with three scripted
            |speakers, DAVE end-to-end encryption on and a little packet loss, and records them.
            |
            |Options:
            |  --seconds N       how long to record (default ${DEFAULT_DURATION.inWholeSeconds}; decimals allowed)
            |  --out DIR         where to write the files (default ./$DEFAULT_OUT)
            |  --loss PERCENT    embedded server: random loss on the recorder's packets (default ${DEFAULT_LOSS_PERCENT.toInt()})
            |  --seed N          embedded server: repeatable SSRCs, keys and faults
            |  --token TOKEN     record a real Discord channel with this bot token (env $ENV_TOKEN)
            |  --guild ID        the guild of that channel (env $ENV_GUILD)
            |  --channel ID      the voice channel (env $ENV_CHANNEL)
            |  --kafka HOST:PORT also publish what is received to this Kafka broker (read it with the worker program)
            |  --topic NAME      the Kafka topic (default earshot.voice)
            |  -h, --help        show this help
            |Flags win over environment variables. Options take their value as the next argument or after '='.
        """.trimMargin()

        /**
         * Reads [args] and the [env] variables `EARSHOT_TOKEN`, `EARSHOT_GUILD` and `EARSHOT_CHANNEL`. Never throws:
         * mistakes come back as [ParsedArgs.Invalid] with a message for the user.
         */
        fun parse(args: List<String>, env: Map<String, String> = System.getenv()): ParsedArgs {
            var options = DemoOptions()
            var token: String? = env[ENV_TOKEN]?.takeIf { it.isNotBlank() }
            var guild: String? = env[ENV_GUILD]?.takeIf { it.isNotBlank() }
            var channel: String? = env[ENV_CHANNEL]?.takeIf { it.isNotBlank() }
            var i = 0
            while (i < args.size) {
                val arg = args[i++]
                if (arg == "-h" || arg == "--help") return ParsedArgs.Help
                if (!arg.startsWith("--")) return ParsedArgs.Invalid("unexpected argument '$arg'")
                val name = arg.substringBefore('=')
                val inline = if ('=' in arg) arg.substringAfter('=') else null
                if (name !in VALUED) return ParsedArgs.Invalid("unknown option '$name'")
                val value = inline ?: args.getOrNull(i++) ?: return ParsedArgs.Invalid("$name needs a value")
                when (name) {
                    "--seconds" -> {
                        val s = value.toDoubleOrNull()
                        if (s == null || s.isNaN() || s <= 0 || s > MAX_SECONDS) {
                            return ParsedArgs.Invalid("--seconds must be a number of seconds above 0 and at most ${MAX_SECONDS.toLong()}, was '$value'")
                        }
                        options = options.copy(duration = (s * 1000).toLong().coerceAtLeast(1).milliseconds)
                    }
                    "--out" -> {
                        if (value.isBlank()) return ParsedArgs.Invalid("--out needs a directory")
                        options = options.copy(outDir = Path.of(value))
                    }
                    "--loss" -> {
                        val p = value.toDoubleOrNull()
                        if (p == null || p.isNaN() || p < 0 || p > 100) return ParsedArgs.Invalid("--loss must be a percentage 0..100, was '$value'")
                        options = options.copy(lossPercent = p)
                    }
                    "--seed" -> options = options.copy(seed = value.toLongOrNull() ?: return ParsedArgs.Invalid("--seed must be an integer, was '$value'"))
                    "--token" -> token = value.takeIf { it.isNotBlank() } ?: return ParsedArgs.Invalid("--token must not be empty")
                    "--guild" -> guild = value
                    "--channel" -> channel = value
                    "--kafka" -> options = options.copy(kafka = value.takeIf { it.isNotBlank() } ?: return ParsedArgs.Invalid("--kafka needs host:port"))
                    "--topic" -> options = options.copy(kafkaTopic = value.takeIf { it.isNotBlank() } ?: return ParsedArgs.Invalid("--topic needs a name"))
                }
            }
            if (token == null) {
                if (guild != null || channel != null) {
                    return ParsedArgs.Invalid("a guild or channel needs a bot token too (--token or $ENV_TOKEN)")
                }
                return ParsedArgs.Run(options)
            }
            val guildId = snowflake(guild) ?: return ParsedArgs.Invalid(
                if (guild == null) "recording on Discord needs --guild (or $ENV_GUILD)" else "--guild must be a numeric id, was '$guild'",
            )
            val channelId = snowflake(channel) ?: return ParsedArgs.Invalid(
                if (channel == null) "recording on Discord needs --channel (or $ENV_CHANNEL)" else "--channel must be a numeric id, was '$channel'",
            )
            return ParsedArgs.Run(options.copy(discord = DiscordTarget(token, guildId, channelId)))
        }

        private val VALUED = setOf("--seconds", "--out", "--loss", "--seed", "--token", "--guild", "--channel", "--kafka", "--topic")

        /** A Discord id: a positive unsigned 64-bit number, kept in a Long as Discord libraries do. */
        private fun snowflake(s: String?): Long? = s?.trim()?.toULongOrNull()?.takeIf { it > 0u }?.toLong()
    }
}

/**
 * A real Discord voice channel to record through a bot. [toString] leaves the token out, so the options can be
 * printed or logged safely.
 */
class DiscordTarget(val token: String, val guildId: Long, val channelId: Long) {
    override fun toString(): String = "DiscordTarget(guild=$guildId, channel=$channelId, token=<hidden>)"

    override fun equals(other: Any?): Boolean =
        other is DiscordTarget && other.token == token && other.guildId == guildId && other.channelId == channelId

    override fun hashCode(): Int = (guildId * 31 + channelId).hashCode()
}

/** The outcome of [DemoOptions.parse]. */
sealed interface ParsedArgs {
    /** Run with these options. */
    data class Run(val options: DemoOptions) : ParsedArgs

    /** `--help` was asked for. */
    data object Help : ParsedArgs

    /** The arguments cannot be used; [message] says why. */
    data class Invalid(val message: String) : ParsedArgs
}
