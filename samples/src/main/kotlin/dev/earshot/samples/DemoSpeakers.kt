package dev.earshot.samples

import dev.earshot.voice.files.OggOpusReader
import dev.earshot.voice.files.OggOpusStream
import dev.earshot.voice.testkit.MemberScript
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds

/**
 * The embedded demo's three scripted speakers: two voices reading synthetic speech (espeak-ng, see
 * `resources/demo/README.md`) and a tone player, with overlapping talk spurts and pauses, each script filling
 * the recording's length.
 */
internal object DemoSpeakers {
    /** A scripted speaker: Discord user id, display name, and its script for a recording of a given length. */
    class Speaker(val userId: Long, val name: String, val script: (Duration) -> MemberScript)

    private val speech: OggOpusStream by lazy { resource("speech.opus") }
    private val speechStereo: OggOpusStream by lazy { resource("speech-stereo-40ms.opus") }

    /** The speakers. User ids are numeric snowflakes, so the members take part in DAVE. */
    val all: List<Speaker> = listOf(
        Speaker(1001, "alice") { length ->
            // Sentences from the mono speech file, with pauses between them.
            cycle(length, lead = 200.milliseconds, listOf(
                Spurt.Play(speech, 0.seconds, 3200.milliseconds), Spurt.Pause(1500.milliseconds),
                Spurt.Play(speech, 3200.milliseconds, 3400.milliseconds), Spurt.Pause(2500.milliseconds),
            ))
        },
        Speaker(1002, "bob") { length ->
            // The stereo file (40 ms packets), starting in alice's first sentence: the two overlap.
            cycle(length, lead = 1800.milliseconds, listOf(
                Spurt.Play(speechStereo, 3000.milliseconds, 2600.milliseconds), Spurt.Pause(2200.milliseconds),
                Spurt.Play(speechStereo, 0.seconds, 2200.milliseconds), Spurt.Pause(1800.milliseconds),
            ))
        },
        Speaker(1003, "tones") { length ->
            cycle(length, lead = 3500.milliseconds, listOf(
                Spurt.Tone(440.0, 700.milliseconds), Spurt.Pause(2300.milliseconds),
                Spurt.Tone(660.0, 500.milliseconds), Spurt.Pause(3000.milliseconds),
            ))
        },
    )

    private sealed interface Spurt {
        val length: Duration

        class Play(val stream: OggOpusStream, val from: Duration, override val length: Duration) : Spurt
        class Tone(val hz: Double, override val length: Duration) : Spurt
        class Pause(override val length: Duration) : Spurt
    }

    /**
     * A script that waits until the member's DAVE key is in force (so every frame goes out end-to-end encrypted),
     * pauses [lead], then repeats [pattern] until [length] minus a second (the DAVE wait comes first), shortening the last spurt to fit: so
     * the last words have played out when the recording stops.
     */
    private fun cycle(length: Duration, lead: Duration, pattern: List<Spurt>): MemberScript = MemberScript {
        awaitDave()
        val end = length - 1.seconds
        var at = lead
        pause(lead)
        var i = 0
        while (at < end) {
            val spurt = pattern[i++ % pattern.size]
            val d = minOf(spurt.length, end - at)
            if (d < 100.milliseconds) break
            when (spurt) {
                is Spurt.Play -> play(spurt.stream, from = spurt.from, duration = d)
                is Spurt.Tone -> tone(spurt.hz, d)
                is Spurt.Pause -> pause(d)
            }
            at += d
        }
    }

    private fun resource(name: String): OggOpusStream {
        val input = checkNotNull(DemoSpeakers::class.java.getResourceAsStream("/demo/$name")) { "demo audio /demo/$name is missing" }
        return input.use(OggOpusReader::read)
    }
}
