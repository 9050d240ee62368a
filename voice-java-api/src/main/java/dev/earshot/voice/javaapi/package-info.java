/**
 * Earshot for Java: a facade over {@code voice-core} with {@link java.util.concurrent.CompletableFuture}s, listener
 * interfaces called on an {@link java.util.concurrent.Executor} of your choice, {@link java.util.concurrent.Flow.Publisher}s,
 * {@link java.time.Duration}s and JSpecify nullability. Start at {@link dev.earshot.voice.javaapi.EarshotVoice}.
 *
 * <p>No Kotlin type appears in this package's public signatures (a test checks it). The subpackage {@code internal}
 * is implementation, not API.
 */
@NullMarked
package dev.earshot.voice.javaapi;

import org.jspecify.annotations.NullMarked;
