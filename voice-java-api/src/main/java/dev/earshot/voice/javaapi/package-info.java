/**
 * Earshot for Java: {@link java.util.concurrent.CompletableFuture}s, listener interfaces called on an
 * {@link java.util.concurrent.Executor} of your choice, {@link java.util.concurrent.Flow.Publisher}s,
 * {@link java.time.Duration}s and {@link java.time.Instant}s, JSpecify nullability. Start at
 * {@link dev.earshot.voice.javaapi.EarshotVoice}.
 *
 * <p>Settings and plain values are voice-core's own types, which Java uses directly: {@code VoiceConnectionConfig}
 * and {@code ReceiveConfig} (fluent builders: {@code ReceiveConfig.builder().decode(PcmFormat.MONO_16K).build()}),
 * {@code PlayoutDelay}, {@code PcmFormat}, {@code MixPolicy}, {@code VoiceSessionInfo}, {@code ReceiveStats}. This
 * package wraps only what would show Kotlin to Java: suspend functions (as futures), flows (as listeners and
 * publishers), Kotlin function types and {@code kotlin.time.Duration}. No Kotlin type appears in the public
 * signatures of this package or of those core types (a test checks it). The subpackage {@code internal} is
 * implementation, not API.
 *
 * <p>User ids are {@code long}s; {@link dev.earshot.voice.javaapi.UserIds#UNKNOWN} (-1) marks audio whose SSRC has no
 * known user yet.
 *
 * <h2>Futures</h2>
 * Every future completes <em>normally</em> when what it stands for happened or ended as expected, and
 * <em>exceptionally</em> with the cause when it failed; none completes with an error as a value.
 * <ul>
 * <li>{@code EarshotVoice.connect}: normally with the connection once audio can flow; exceptionally with a typed
 * {@code VoiceConnectionException}; cancelled by the caller, it abandons the attempt.</li>
 * <li>{@code JavaVoiceConnection.closed()}: normally after {@code disconnect()}/{@code close()}; exceptionally with
 * the {@code VoiceConnectionException} that ended the connection otherwise.</li>
 * <li>{@code disconnect()}, {@code stopListening()}, {@code ActiveSink.stop()}: normally once the teardown or cleanup
 * is done; never exceptionally.</li>
 * <li>{@code updateServer}, {@code updateVoiceState}, {@code removedFromChannel}: normally once applied.</li>
 * <li>{@code ActiveSink.finished()}: normally when the sink was stopped, ended itself or the connection ended;
 * exceptionally with the sink's own error (or the receiver's).</li>
 * <li>{@code Playback.done()}: normally when it played out, was stopped or replaced; exceptionally when its source
 * failed.</li>
 * <li>{@code speakerStats()}: normally with the figures.</li>
 * </ul>
 * Futures are completed on Earshot's threads: attach work with the {@code ...Async} methods and your executor, and
 * do not block in a non-async stage. Each call returns a new future (or a copy), so cancelling one affects nothing
 * but that future, except for {@code connect}.
 */
@NullMarked
package dev.earshot.voice.javaapi;

import org.jspecify.annotations.NullMarked;
