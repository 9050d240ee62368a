package dev.earshot.samples

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import io.kotest.matchers.string.shouldNotContain
import io.kotest.matchers.types.shouldBeInstanceOf
import java.io.ByteArrayOutputStream
import java.io.PrintStream
import java.nio.file.Path
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds

class DemoOptionsSpec : FunSpec({
    fun run(vararg args: String, env: Map<String, String> = emptyMap()): DemoOptions =
        DemoOptions.parse(args.toList(), env).shouldBeInstanceOf<ParsedArgs.Run>().options

    fun invalid(vararg args: String, env: Map<String, String> = emptyMap()): String =
        DemoOptions.parse(args.toList(), env).shouldBeInstanceOf<ParsedArgs.Invalid>().message

    test("no arguments: the embedded demo, 15 s into ./earshot-recording with 3 % loss") {
        val o = run()
        o.duration shouldBe 15.seconds
        o.outDir shouldBe Path.of("earshot-recording")
        o.lossPercent shouldBe 3.0
        o.seed shouldBe null
        o.discord shouldBe null
    }

    test("flags take their value as the next argument or after '='") {
        val o = run("--seconds", "6.5", "--out=/tmp/x", "--loss", "10", "--seed=42")
        o.duration shouldBe 6500.milliseconds
        o.outDir shouldBe Path.of("/tmp/x")
        o.lossPercent shouldBe 10.0
        o.seed shouldBe 42L
        run("--loss=0").lossPercent shouldBe 0.0
    }

    test("help") {
        DemoOptions.parse(listOf("--seconds", "3", "-h"), emptyMap()) shouldBe ParsedArgs.Help
        DemoOptions.parse(listOf("--help"), emptyMap()) shouldBe ParsedArgs.Help
        DemoOptions.USAGE shouldContain "--seconds"
        DemoOptions.USAGE shouldContain DemoOptions.ENV_TOKEN
    }

    test("token, guild and channel from flags or the environment; flags win") {
        val env = mapOf("EARSHOT_TOKEN" to "env-token", "EARSHOT_GUILD" to "111", "EARSHOT_CHANNEL" to "222")
        run(env = env).discord shouldBe DiscordTarget("env-token", 111, 222)
        run("--channel", "333", env = env).discord shouldBe DiscordTarget("env-token", 111, 333)
        run("--token", "flag-token", "--guild", "18446744073709551615", "--channel", "5").discord shouldBe
            DiscordTarget("flag-token", -1L, 5) // the largest unsigned snowflake, kept in a Long as Discord libraries do
        // Blank variables count as unset.
        run(env = mapOf("EARSHOT_TOKEN" to " ")).discord shouldBe null
    }

    test("the token never shows in the options' text") {
        val o = run("--token", "s3cret-token", "--guild", "1", "--channel", "2")
        o.toString() shouldNotContain "s3cret"
        o.discord.toString() shouldContain "guild=1"
    }

    test("mistakes are reported, not thrown") {
        invalid("--seconds") shouldContain "--seconds needs a value"
        invalid("--seconds", "0") shouldContain "--seconds must be"
        invalid("--seconds", "-3") shouldContain "--seconds must be"
        invalid("--seconds", "abc") shouldContain "'abc'"
        invalid("--seconds", "NaN") shouldContain "--seconds must be"
        invalid("--seconds", "100000") shouldContain "at most 86400"
        invalid("--loss", "101") shouldContain "0..100"
        invalid("--seed", "1.5") shouldContain "integer"
        invalid("--out=") shouldContain "directory"
        invalid("--volume", "3") shouldContain "unknown option '--volume'"
        invalid("record") shouldContain "unexpected argument 'record'"
        invalid("--token", "t") shouldContain "needs --guild"
        invalid("--token", "t", "--guild", "1") shouldContain "needs --channel"
        invalid("--token", "t", "--guild", "abc", "--channel", "2") shouldContain "--guild must be a numeric id"
        invalid("--token", "t", "--guild", "1", "--channel", "0") shouldContain "--channel must be a numeric id"
        invalid("--guild", "1", "--channel", "2") shouldContain "needs a bot token"
        invalid(env = mapOf("EARSHOT_GUILD" to "1")) shouldContain "needs a bot token"
    }

    test("a token, guild and channel select the Kord source (not run here: tests never reach Discord); none, the embedded one") {
        val withToken = (DemoOptions.parse(listOf("--token", "t0ken", "--guild", "1", "--channel", "2"), emptyMap()) as ParsedArgs.Run).options
        DemoRecorder.sourceFor(withToken).shouldBeInstanceOf<dev.earshot.samples.KordSource>()
        withToken.toString() shouldNotContain "t0ken"
        DemoRecorder.sourceFor(DemoOptions()).shouldBeInstanceOf<EmbeddedSource>()
    }

    test("bad arguments exit 2; --help exits 0 with the usage") {
        val out = ByteArrayOutputStream()
        val oldErr = System.err
        System.setErr(PrintStream(ByteArrayOutputStream(), true))
        try {
            DemoRecorder.execute(listOf("--seconds", "x"), emptyMap(), DemoConsole(PrintStream(out), false)) shouldBe DemoRecorder.EXIT_USAGE
        } finally {
            System.setErr(oldErr)
        }
        DemoRecorder.execute(listOf("--help"), emptyMap(), DemoConsole(PrintStream(out), false)) shouldBe DemoRecorder.EXIT_OK
        out.toString() shouldContain "Usage: earshot"
    }
})
