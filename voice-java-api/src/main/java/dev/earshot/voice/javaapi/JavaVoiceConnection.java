package dev.earshot.voice.javaapi;

import dev.earshot.voice.model.ReceiveStats;
import dev.earshot.voice.model.ReceiveTimeline;
import dev.earshot.voice.model.SpeakerStats;
import dev.earshot.voice.audio.MixPolicy;
import dev.earshot.voice.audio.PcmMixer;
import dev.earshot.voice.codec.PcmFormat;
import dev.earshot.voice.connection.VoiceConnection;
import dev.earshot.voice.connection.VoiceConnectionConfig;
import dev.earshot.voice.connection.VoiceConnectionState;
import dev.earshot.voice.connection.VoiceSessionInfo;
import dev.earshot.voice.crypto.EncryptionMode;
import dev.earshot.voice.dave.DaveSession;
import dev.earshot.voice.javaapi.internal.ConnectionRuntime;
import dev.earshot.voice.javaapi.internal.CoreConnections;
import dev.earshot.voice.model.AudioFrame;
import dev.earshot.voice.model.FrameKind;
import dev.earshot.voice.model.VoiceEvent;
import dev.earshot.voice.model.VoiceOutput;
import dev.earshot.voice.model.VoiceTick;
import dev.earshot.voice.sink.Listening;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A live connection to one Discord voice channel, for Java. Get one from {@link EarshotVoice#connect}.
 *
 * <p>It keeps itself alive (resumes, reconnects, follows server moves) until {@link #disconnect()} or
 * {@link #close()}, or until Discord ends it, which completes {@link #closed()} exceptionally with a typed cause.
 * Listeners, publishers and sinks carry on across reconnects; a gap is silence. All methods are thread-safe. The
 * futures' completion rules are in the package documentation.
 */
public final class JavaVoiceConnection implements AutoCloseable {
    /** How long {@link #close()} and {@link ActiveSink#close()} wait: voice-core bounds a disconnect's sink drain at 10 s. */
    static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(15);
    private static final Logger LOG = LoggerFactory.getLogger(JavaVoiceConnection.class);

    static {
        // Lets Earshot's modules built on this face (voice-kafka...) follow the connection behind it.
        CoreConnections.install(c -> ((JavaVoiceConnection) c).core);
    }

    private final ConnectionRuntime runtime;
    private final VoiceConnection core;
    private final ReceiveTimeline timeline;
    private final @Nullable PcmFormat decode;

    JavaVoiceConnection(ConnectionRuntime runtime) {
        this.runtime = runtime;
        this.core = runtime.connection();
        this.timeline = core.getReceiver().getTimeline();
        this.decode = core.getConfig().receive().decode();
    }

    /** The settings this connection was made with. */
    public VoiceConnectionConfig config() {
        return core.getConfig();
    }

    /** The current session: guild, channel, user, endpoint (changes with {@link #updateServer} and {@link #updateVoiceState}). */
    public VoiceSessionInfo session() {
        return core.getSession();
    }

    /** Where the connection is in its life. */
    public ConnectionState state() {
        return Convert.state(core.getState().getValue());
    }

    /** Whether the connection has not ended yet (it may be reconnecting). */
    public boolean isAlive() {
        return core.isAlive();
    }

    /** Our SSRC from the last Ready; 0 before the first. */
    public long ssrc() {
        return core.getSsrc();
    }

    /** The users in the channel as the voice server announced them, without us; a snapshot. */
    public Set<Long> members() {
        return Set.copyOf(core.getMembers());
    }

    /** The transport encryption mode's wire name (e.g. {@code aead_aes256_gcm_rtpsize}), or null before the first key. */
    public @Nullable String encryptionMode() {
        EncryptionMode m = core.getEncryptionMode();
        return m == null ? null : m.getWireName();
    }

    /** The round trip of the last acknowledged heartbeat, or null before the first. */
    public @Nullable Duration ping() {
        return runtime.ping();
    }

    /** The DAVE protocol version in use: 0 for transport-only calls (or DAVE not offered), 1 with end-to-end encryption. */
    public int daveProtocolVersion() {
        DaveSession dave = core.getDave();
        return dave == null ? 0 : dave.getProtocolVersion();
    }

    /** The DAVE privacy code users compare to verify the call, or null without DAVE or before the first group. */
    public @Nullable String davePrivacyCode() {
        DaveSession dave = core.getDave();
        return dave == null ? null : dave.getPrivacyCode();
    }

    /** The receiver's counters now (voice-core's {@code ReceiveStats}: every packet counted once in one fate). */
    public ReceiveStats stats() {
        return core.getReceiver().stats();
    }

    /**
     * Every speaker's playout figures (playout delay, jitter, per-speaker counters), one per SSRC with playout state.
     * Completes normally with the list (taken on the pipeline's own thread, consistent with the ticks so far).
     */
    public CompletableFuture<List<SpeakerStatistics>> speakerStats() {
        return runtime.speakerStats().thenApply(list -> {
            List<SpeakerStatistics> out = new ArrayList<>(list.size());
            for (SpeakerStats s : list) out.add(SpeakerStatistics.of(s));
            return List.copyOf(out);
        });
    }

    /** The connection's timeline: ticks to wall-clock instants and to each speaker's RTP timestamps. */
    public VoiceTimeline timeline() {
        return new VoiceTimeline(timeline);
    }

    /**
     * Completes once the connection has ended and released everything: normally after {@link #disconnect()} or
     * {@link #close()}, exceptionally with the cause when it ended on its own (a {@code VoiceConnectionException}
     * such as {@code VoiceGatewayClosedException} for 4014, or {@code VoiceChannelLeftException} after
     * {@link #removedFromChannel()}). A new copy each call.
     */
    public CompletableFuture<Void> closed() {
        return runtime.closed().thenApply(v -> null);
    }

    /**
     * Leaves the channel: closes the socket, stops the player and receiver; sinks clean up (files are finished) and
     * listeners get {@link VoiceListener#onClosed} with null. Completes normally once all of that is done (also when
     * the connection had already ended); never exceptionally.
     */
    public CompletableFuture<Void> disconnect() {
        return runtime.disconnect().thenApply(v -> null);
    }

    /**
     * {@link #disconnect()} and waits for it, at most 15 s (then it goes on in the background and a warning is logged).
     * Keeps the thread's interrupt status.
     */
    @Override
    public void close() {
        close(CLOSE_TIMEOUT);
    }

    /** {@link #disconnect()} and waits for it, at most {@code timeout}. Keeps the thread's interrupt status. */
    public void close(Duration timeout) {
        CompletableFuture<Void> done = disconnect();
        try {
            done.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (TimeoutException e) {
            LOG.warn("voice disconnect still running after {}; it goes on in the background", timeout);
        } catch (ExecutionException e) {
            LOG.warn("voice disconnect failed", e.getCause());
        }
    }

    /**
     * Calls {@code listener} on {@code executor} from now on (see {@link VoiceListener} for order and threading) until
     * the returned subscription is closed or the connection ends. Executors that run tasks on the calling thread
     * (such as {@code Runnable::run}) would run the callbacks on Earshot's threads: give a real one.
     */
    public Subscription addListener(VoiceListener listener, Executor executor) {
        Objects.requireNonNull(listener, "listener");
        Objects.requireNonNull(executor, "executor");
        PcmMixer mixer = decode != null && listener.canReceiveCombined() ? new PcmMixer(decode) : null;
        MixPolicy everyone = new MixPolicy();
        return CallbackSubscription.<VoiceOutput>start(runtime, runtime::pumpOutputs, executor, item -> {
            if (item instanceof VoiceTick tick) return tickCalls(listener, tick, mixer, everyone);
            if (item instanceof VoiceEvent e) {
                ChannelEvent event = Convert.event(e, timeline);
                return event == null ? null : () -> eventCalls(listener, event);
            }
            return null;
        }, listener::onClosed);
    }

    /**
     * Calls {@code listener} on {@code executor} with the connection's state now and then with every change (connected,
     * reconnecting with its close code and attempt, waiting for a server, closed with its cause) until the returned
     * subscription is closed or the connection has ended; see {@link ConnectionStateListener}.
     */
    public Subscription addStateListener(ConnectionStateListener listener, Executor executor) {
        Objects.requireNonNull(listener, "listener");
        Objects.requireNonNull(executor, "executor");
        return CallbackSubscription.<VoiceConnectionState>start(runtime, runtime::pumpStates, executor, state -> {
            ConnectionStateChange change = Convert.stateChange(state);
            return () -> CallbackSubscription.safely(() -> listener.onStateChange(change));
        }, listener::onClosed);
    }

    /** Calls {@code listener} on {@code executor} with every frame of {@code userId} from now on, in tick order. */
    public Subscription subscribeUser(long userId, UserAudioListener listener, Executor executor) {
        Objects.requireNonNull(listener, "listener");
        Objects.requireNonNull(executor, "executor");
        return CallbackSubscription.<AudioFrame>start(runtime, (deliver, end) -> runtime.pumpFrames(userId, deliver, end), executor, frame -> {
            VoiceFrame f = new VoiceFrame(frame, timeline, decode);
            return () -> CallbackSubscription.safely(() -> listener.onAudio(f));
        }, listener::onClosed);
    }

    /** The frames of {@code userId}, one per tick in which they speak, signalled on {@code executor}. */
    public VoicePublisher<VoiceFrame> frames(long userId, Executor executor) {
        return frames(userId, executor, VoicePublisher.DEFAULT_BUFFER);
    }

    /** {@link #frames(long, Executor)} with a buffer of {@code bufferSize} frames per subscriber. */
    public VoicePublisher<VoiceFrame> frames(long userId, Executor executor, int bufferSize) {
        Objects.requireNonNull(executor, "executor");
        int size = LivePublisher.buffer(bufferSize);
        return new LivePublisher<>(dropped -> runtime.framesPublisher(userId, null, f -> new VoiceFrame(f, timeline, decode), executor, size, dropped));
    }

    /**
     * The frames of {@code userId} with PCM in {@code format}: the connection's own, or {@link PcmFormat#MONO_16K}
     * converted per speaker from a connection decoding {@link PcmFormat#STEREO_48K} (for a recogniser beside a 48 kHz
     * recording). Throws {@link IllegalArgumentException} when the connection cannot deliver that format.
     */
    public VoicePublisher<VoiceFrame> frames(long userId, PcmFormat format, Executor executor) {
        Objects.requireNonNull(format, "format");
        Objects.requireNonNull(executor, "executor");
        checkCanDeliver(format, "frames in " + format);
        return new LivePublisher<>(dropped -> runtime.framesPublisher(userId, format, f -> new VoiceFrame(f, timeline, format), executor,
                VoicePublisher.DEFAULT_BUFFER, dropped));
    }

    /** The frames of one SSRC, whether or not its user is known (yet), signalled on {@code executor}. */
    public VoicePublisher<VoiceFrame> framesOfSsrc(long ssrc, Executor executor) {
        Objects.requireNonNull(executor, "executor");
        return new LivePublisher<>(dropped -> runtime.ssrcFramesPublisher(ssrc, f -> new VoiceFrame(f, timeline, decode), executor,
                VoicePublisher.DEFAULT_BUFFER, dropped));
    }

    /** Every received Opus packet, in playout order, signalled on {@code executor}. */
    public VoicePublisher<VoicePacket> opusPackets(Executor executor) {
        Objects.requireNonNull(executor, "executor");
        return new LivePublisher<>(dropped -> runtime.opusPublisher(p -> Convert.packet(p, timeline), executor, VoicePublisher.DEFAULT_BUFFER, dropped));
    }

    /**
     * The combined track (mixed per {@code mix}: who, at what gain; everyone when null): one frame per 20 ms,
     * silence when nobody speaks, in the connection's decode format. Needs decoding: throws
     * {@link IllegalStateException} when the connection decodes nothing.
     */
    public VoicePublisher<VoiceFrame> combinedAudio(@Nullable MixPolicy mix, Executor executor) {
        Objects.requireNonNull(executor, "executor");
        PcmFormat format = decode;
        if (format == null) {
            throw new IllegalStateException("combined audio needs decoding, but this connection decodes nothing (Opus only): "
                    + "connect with VoiceConnectionConfig.builder().receive(ReceiveConfig.builder().decode(PcmFormat.STEREO_48K).build())");
        }
        MixPolicy policy = mix == null ? new MixPolicy() : mix;
        return new LivePublisher<>(dropped -> runtime.mixedPublisher(policy, format, f -> new VoiceFrame(f, timeline, format), executor,
                VoicePublisher.DEFAULT_BUFFER, dropped));
    }

    /** Every {@link ChannelEvent}, signalled on {@code executor}. */
    public VoicePublisher<ChannelEvent> events(Executor executor) {
        Objects.requireNonNull(executor, "executor");
        return new LivePublisher<>(dropped -> runtime.eventsPublisher(e -> Convert.event(e, timeline), executor, VoicePublisher.DEFAULT_BUFFER, dropped));
    }

    /**
     * Feeds {@code sink} (from {@link Sinks}) until it is stopped, ends itself, or the connection ends. Each sink
     * runs on its own with its own bounded queue, so a slow or failing sink affects only itself. A sink wanting PCM
     * needs the connection to decode: 48 kHz stereo serves both formats, 16 kHz mono only 16 kHz mono sinks; else
     * this throws {@link IllegalArgumentException}.
     */
    public ActiveSink listen(VoiceSink sink) {
        Objects.requireNonNull(sink, "sink");
        PcmFormat wants = sink.wants();
        if (wants != null) checkCanDeliver(wants, "this sink wants PCM " + wants);
        CompletableFuture<Void> finished = new CompletableFuture<>();
        // voice-core cancels sinks still draining when the connection's scope ends: an end, not a failure.
        Listening listening = runtime.listen(sink.core(), error -> {
            if (error == null || error instanceof CancellationException) {
                finished.complete(null);
            } else {
                finished.completeExceptionally(error);
            }
        });
        return new ActiveSink(runtime, listening, finished);
    }

    /** Stops every listening sink; completes normally when their cleanup (file finishing) is done. */
    public CompletableFuture<Void> stopListening() {
        return runtime.stopListening().thenApply(v -> null);
    }

    /** Stops delivering to sinks until {@link #resumeListening()}; what happens meanwhile is not queued for them. */
    public void pauseListening() {
        core.pauseListening();
    }

    /** Resumes delivering to sinks. */
    public void resumeListening() {
        core.resumeListening();
    }

    /** Whether any sink is listening. */
    public boolean isListening() {
        return core.isListening();
    }

    /** Plays {@code source} into the channel, replacing what plays now. */
    public Playback play(SendSource source) {
        Objects.requireNonNull(source, "source");
        return new Playback(runtime, runtime.play(source.take()));
    }

    /** Stops playing (five silence frames follow, then speaking off). */
    public void stopPlaying() {
        core.stopPlaying();
    }

    /** Whether something is playing. */
    public boolean isPlaying() {
        return core.isPlaying();
    }

    /**
     * Applies a VOICE_SERVER_UPDATE from the main gateway: a new endpoint (or token) makes the connection identify
     * there afresh; a null endpoint means the server is being reallocated and the connection waits for the next one.
     * Completes normally once applied.
     */
    public CompletableFuture<Void> updateServer(String token, @Nullable String endpoint) {
        Objects.requireNonNull(token, "token");
        return runtime.updateServer(token, endpoint).thenApply(v -> null);
    }

    /**
     * Applies the bot's own VOICE_STATE_UPDATE from the main gateway: a new {@code channelId} (a channel move) or a
     * new {@code sessionId}. The connection leaves its voice server session and waits for the VOICE_SERVER_UPDATE
     * Discord sends next ({@link #updateServer}); recordings carry on. Unchanged values do nothing. Completes
     * normally once applied. For an update without a channel (the bot was kicked or left) call
     * {@link #removedFromChannel()}.
     */
    public CompletableFuture<Void> updateVoiceState(long channelId, String sessionId) {
        Objects.requireNonNull(sessionId, "sessionId");
        return runtime.updateVoiceState(channelId, sessionId).thenApply(v -> null);
    }

    /**
     * Applies a VOICE_STATE_UPDATE of the bot without a channel: the bot was removed from (or left) the channel. The
     * connection ends as after {@link #disconnect()}, but {@link #closed()} fails with
     * {@code VoiceChannelLeftException}. Completes normally once the connection has ended.
     */
    public CompletableFuture<Void> removedFromChannel() {
        return runtime.updateVoiceState(null, core.getSession().getSessionId()).thenApply(v -> null);
    }

    @Override
    public String toString() {
        return "JavaVoiceConnection(" + core.getSession() + ", " + core.getState().getValue() + ")";
    }

    /** Throws, naming the Java settings to change, when the connection cannot deliver PCM in {@code format}. */
    private void checkCanDeliver(PcmFormat format, String who) {
        if (decode == PcmFormat.STEREO_48K || decode == format) return;
        throw new IllegalArgumentException(who + " but the connection decodes " + (decode == null ? "nothing (Opus only)" : decode)
                + ": connect with VoiceConnectionConfig.builder().receive(ReceiveConfig.builder().decode(PcmFormat.STEREO_48K).build())"
                + " (which serves both formats)" + (format == PcmFormat.MONO_16K ? " or .decode(PcmFormat.MONO_16K)" : ""));
    }

    private @Nullable Runnable tickCalls(VoiceListener listener, VoiceTick tick, @Nullable PcmMixer mixer, MixPolicy policy) {
        List<AudioFrame> speaking = tick.getSpeaking();
        VoiceFrame mixed = null;
        if (mixer != null) {
            short[] out = new short[mixer.getFrameSize()];
            int n = mixer.mix(speaking, policy, out);
            mixed = new VoiceFrame(new AudioFrame(0L, null, tick.getTick(), 0, 0L, out, null,
                    n == 0 ? FrameKind.SILENCE : FrameKind.DECODED, -1, -1, List.of()), timeline, decode);
        }
        if (speaking.isEmpty() && mixed == null) return null;
        List<VoiceFrame> frames = new ArrayList<>(speaking.size());
        List<VoicePacket> packets = new ArrayList<>(speaking.size());
        for (AudioFrame f : speaking) {
            frames.add(new VoiceFrame(f, timeline, decode));
            packets.addAll(Convert.packets(f, timeline));
        }
        VoiceFrame combined = mixed;
        return () -> {
            for (VoiceFrame f : frames) CallbackSubscription.safely(() -> listener.onUserAudio(f));
            for (VoicePacket p : packets) CallbackSubscription.safely(() -> listener.onOpusPacket(p));
            if (combined != null) CallbackSubscription.safely(() -> listener.onCombinedAudio(combined));
        };
    }

    private static void eventCalls(VoiceListener listener, ChannelEvent event) {
        CallbackSubscription.safely(() -> {
            if (event instanceof ChannelEvent.SpeakingStarted s) listener.onSpeakingStart(s);
            else if (event instanceof ChannelEvent.SpeakingStopped s) listener.onSpeakingStop(s);
            else if (event instanceof ChannelEvent.MemberJoined m) listener.onMemberJoin(m.userId());
            else if (event instanceof ChannelEvent.MemberLeft m) listener.onMemberLeave(m.userId());
        });
        CallbackSubscription.safely(() -> listener.onEvent(event));
    }
}
