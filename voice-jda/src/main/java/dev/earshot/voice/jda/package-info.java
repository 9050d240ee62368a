/**
 * Earshot for JDA bots: {@link dev.earshot.voice.jda.JdaVoice} is installed as JDA's
 * {@link net.dv8tion.jda.api.hooks.VoiceDispatchInterceptor} and joins voice channels through JDA's own gateway
 * ({@link net.dv8tion.jda.api.managers.DirectAudioController}), one Earshot connection per guild.
 *
 * <p>No Kotlin type appears in this package's public signatures (a test checks it); connections hand out the
 * {@code voice-java-api} face for listeners, publishers and sinks.
 */
@NullMarked
package dev.earshot.voice.jda;

import org.jspecify.annotations.NullMarked;
