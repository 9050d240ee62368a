package dev.earshot.voice.javaapi;

import dev.earshot.voice.javaapi.internal.CoreConfigs;
import dev.earshot.voice.javaapi.internal.ExecutorSink;
import dev.earshot.voice.javaapi.internal.SinkGlue;
import dev.earshot.voice.model.AudioFrame;
import dev.earshot.voice.sink.AudioSink;

import java.util.concurrent.Executor;

/** Builds the voice-core sink behind {@link Sinks#of}: the Java sink's calls, one task per tick on its executor. */
final class SinkGlueExecutorSink {
    private final JavaSink sink;
    private final Executor executor;
    private final int ticks;

    SinkGlueExecutorSink(JavaSink sink, Executor executor, int ticks) {
        this.sink = sink;
        this.executor = executor;
        this.ticks = ticks;
    }

    AudioSink build() {
        return new ExecutorSink(
                executor,
                SinkGlue.sinkFormat(CoreConfigs.pcmFormat(sink.wants())),
                SinkGlue.overflow(ticks, false),
                tick -> {
                    for (AudioFrame f : tick.getSpeaking()) sink.write(f.getUserId(), new VoiceFrame(f));
                },
                event -> {
                    ChannelEvent e = Convert.event(event);
                    if (e != null) sink.onEvent(e);
                },
                sink::cleanup);
    }
}
