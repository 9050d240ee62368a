package dev.earshot.voice.javaapi;

import dev.earshot.voice.audio.MixPolicy;
import dev.earshot.voice.audio.PcmMixer;
import dev.earshot.voice.codec.PcmFormat;
import dev.earshot.voice.connection.VoiceConnection;
import dev.earshot.voice.crypto.EncryptionMode;
import dev.earshot.voice.dave.DaveSession;
import dev.earshot.voice.javaapi.internal.ConnectionRuntime;
import dev.earshot.voice.javaapi.internal.CoreConfigs;
import dev.earshot.voice.model.AudioFrame;
import dev.earshot.voice.model.FrameKind;
import dev.earshot.voice.model.VoiceEvent;
import dev.earshot.voice.model.VoiceOutput;
import dev.earshot.voice.model.VoiceTick;
import dev.earshot.voice.sink.Listening;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A live connection to one Discord voice channel, for Java. Get one from {@link EarshotVoice#connect}.
 *
 * <p>It keeps itself alive (resumes, reconnects, follows server moves) until {@link #disconnect()} or
 * {@link #close()}, or until Discord ends it, which completes {@link #closed()} with a typed cause. Listeners,
 * publishers and sinks carry on across reconnects; a gap is silence. All methods are thread-safe.
 */
public final class JavaVoiceConnection implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(JavaVoiceConnection.class);

    private final ConnectionRuntime runtime;
    private final VoiceConnection core;
    private final VoiceConfig config;

    JavaVoiceConnection(ConnectionRuntime runtime, VoiceConfig config) {
        this.runtime = runtime;
        this.core = runtime.getConnection();
        this.config = config;
    }

    /** The settings this connection was made with. */
    public VoiceConfig config() {
        return config;
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
    public java.time.@Nullable Duration ping() {
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

    /** The receiver's counters now. */
    public ReceiveCounters stats() {
        return new ReceiveCounters(core.getReceiver().stats());
    }

    /**
     * Completes when the connection has ended: with null after {@link #disconnect()}, else with the cause (a
     * {@code VoiceConnectionException} such as {@code VoiceGatewayClosedException} for 4014). Never completes
     * exceptionally.
     */
    public CompletableFuture<@Nullable Throwable> closed() {
        return runtime.getClosed().copy();
    }

    /**
     * Leaves the channel: closes the socket, stops the player and receiver; sinks clean up (files are finished) and
     * listeners get {@link VoiceListener#onClosed} with null. Completes once all of that is done.
     */
    public CompletableFuture<Void> disconnect() {
        return runtime.disconnect().thenApply(v -> null);
    }

    /**
     * {@link #disconnect()} and waits for it, at most {@link VoiceConfig#closeTimeout()} (then it goes on in the
     * background and a warning is logged). Keeps the thread's interrupt status.
     */
    @Override
    public void close() {
        CompletableFuture<Void> done = disconnect();
        try {
            done.get(config.closeTimeout().toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (TimeoutException e) {
            LOG.warn("voice disconnect still running after {}; it goes on in the background", config.closeTimeout());
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
        PcmFormat format = CoreConfigs.pcmFormat(config.decode());
        PcmMixer mixer = format != null && overrides(listener, "onCombinedAudio", VoiceFrame.class) ? new PcmMixer(format) : null;
        MixPolicy everyone = new MixPolicy(true, true);
        return CallbackSubscription.<VoiceOutput>start(runtime, runtime.outputs(), executor, item -> {
            if (item instanceof VoiceTick tick) return tickCalls(listener, tick, mixer, everyone);
            if (item instanceof VoiceEvent e) {
                ChannelEvent event = Convert.event(e);
                return event == null ? null : () -> eventCalls(listener, event);
            }
            return null;
        }, listener::onClosed);
    }

    /** Calls {@code listener} on {@code executor} with every frame of {@code userId} from now on, in tick order. */
    public Subscription subscribeUser(long userId, UserAudioListener listener, Executor executor) {
        Objects.requireNonNull(listener, "listener");
        Objects.requireNonNull(executor, "executor");
        return CallbackSubscription.<AudioFrame>start(runtime, runtime.frames(userId), executor, frame -> {
            VoiceFrame f = new VoiceFrame(frame);
            return () -> CallbackSubscription.safely(() -> listener.onAudio(f));
        }, listener::onClosed);
    }

    /** The frames of {@code userId}, one per tick in which they speak, signalled on {@code executor}. */
    public VoicePublisher<VoiceFrame> frames(long userId, Executor executor) {
        return frames(userId, executor, VoicePublisher.DEFAULT_BUFFER);
    }

    /** {@link #frames(long, Executor)} with a buffer of {@code bufferSize} frames per subscriber. */
    public VoicePublisher<VoiceFrame> frames(long userId, Executor executor, int bufferSize) {
        return new BufferedPublisher<AudioFrame, VoiceFrame>(runtime, () -> runtime.frames(userId), VoiceFrame::new, executor, bufferSize);
    }

    /** Every received Opus packet, in playout order, signalled on {@code executor}. */
    public VoicePublisher<VoicePacket> opusPackets(Executor executor) {
        return new BufferedPublisher<>(runtime, runtime::opusPackets, Convert::packet, executor, VoicePublisher.DEFAULT_BUFFER);
    }

    /**
     * The combined track (everyone mixed per {@code mix}, or everyone when null): one frame per 20 ms, silence when
     * nobody speaks. Needs decoding: throws {@link IllegalStateException} when the connection decodes to
     * {@link AudioFormat#OPUS_ONLY}.
     */
    public VoicePublisher<VoiceFrame> combinedAudio(@Nullable MixSettings mix, Executor executor) {
        if (config.decode() == AudioFormat.OPUS_ONLY) throw new IllegalStateException("combined audio needs decoding: set VoiceConfig.decode");
        MixPolicy policy = mix == null ? new MixPolicy(true, true) : mix.core();
        return new BufferedPublisher<AudioFrame, VoiceFrame>(runtime, () -> runtime.mixed(policy), VoiceFrame::new, executor, VoicePublisher.DEFAULT_BUFFER);
    }

    /** Every {@link ChannelEvent}, signalled on {@code executor}. */
    public VoicePublisher<ChannelEvent> events(Executor executor) {
        return new BufferedPublisher<VoiceEvent, ChannelEvent>(runtime, runtime::events, Convert::event, executor, VoicePublisher.DEFAULT_BUFFER);
    }

    /**
     * Feeds {@code sink} (from {@link Sinks}) until it is stopped, ends itself, or the connection ends. Each sink
     * runs on its own with its own bounded queue, so a slow or failing sink affects only itself. A sink wanting PCM
     * needs the connection to decode to that format ({@link VoiceConfig#decode()}), else this throws
     * {@link IllegalArgumentException}.
     */
    public ActiveSink listen(VoiceSink sink) {
        Objects.requireNonNull(sink, "sink");
        CompletableFuture<@Nullable Throwable> finished = new CompletableFuture<>();
        // voice-core cancels sinks still draining when the connection's scope ends: an end, not a failure.
        Listening listening = runtime.listen(sink.core(),
                error -> finished.complete(error instanceof java.util.concurrent.CancellationException ? null : error));
        return new ActiveSink(runtime, listening, finished, config.closeTimeout());
    }

    /** Stops every listening sink; completes when their cleanup (file finishing) is done. */
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
     */
    public CompletableFuture<Void> updateServer(String token, @Nullable String endpoint) {
        Objects.requireNonNull(token, "token");
        return runtime.updateServer(token, endpoint).thenApply(v -> null);
    }

    /**
     * Applies the bot's own VOICE_STATE_UPDATE from the main gateway: another channel or a new session id makes the
     * connection wait for the VOICE_SERVER_UPDATE that follows and re-identify (a channel move also joins the new
     * channel's DAVE group); a null channel (the bot left or was removed) ends the connection with
     * {@code VoiceChannelLeftException}.
     */
    public CompletableFuture<Void> updateVoiceState(@Nullable Long channelId, String sessionId) {
        Objects.requireNonNull(sessionId, "sessionId");
        return runtime.updateVoiceState(channelId, sessionId).thenApply(v -> null);
    }

    @Override
    public String toString() {
        return "JavaVoiceConnection(" + core.getSession() + ", " + core.getState().getValue() + ")";
    }

    private static @Nullable Runnable tickCalls(VoiceListener listener, VoiceTick tick, @Nullable PcmMixer mixer, MixPolicy policy) {
        List<AudioFrame> speaking = tick.getSpeaking();
        VoiceFrame mixed = null;
        if (mixer != null) {
            short[] out = new short[mixer.getFrameSize()];
            int n = mixer.mix(speaking, policy, out);
            mixed = new VoiceFrame(new AudioFrame(0L, null, tick.getTick(), 0, 0L, out, null,
                    n == 0 ? FrameKind.SILENCE : FrameKind.DECODED, -1, -1, List.of()));
        }
        if (speaking.isEmpty() && mixed == null) return null;
        List<VoiceFrame> frames = new ArrayList<>(speaking.size());
        List<VoicePacket> packets = new ArrayList<>(speaking.size());
        for (AudioFrame f : speaking) {
            frames.add(new VoiceFrame(f));
            packets.addAll(Convert.packets(f));
        }
        VoiceFrame combined = mixed;
        return () -> {
            for (VoiceFrame f : frames) CallbackSubscription.safely(() -> listener.onUserAudio(f.userId(), f));
            for (VoicePacket p : packets) CallbackSubscription.safely(() -> listener.onOpusPacket(p));
            if (combined != null) CallbackSubscription.safely(() -> listener.onCombinedAudio(combined));
        };
    }

    private static void eventCalls(VoiceListener listener, ChannelEvent event) {
        CallbackSubscription.safely(() -> {
            if (event instanceof ChannelEvent.SpeakingStarted s) listener.onSpeakingStart(s.userId(), s.ssrc());
            else if (event instanceof ChannelEvent.SpeakingStopped s) listener.onSpeakingStop(s.userId(), s.ssrc());
            else if (event instanceof ChannelEvent.MemberJoined m) listener.onMemberJoin(m.userId());
            else if (event instanceof ChannelEvent.MemberLeft m) listener.onMemberLeave(m.userId());
        });
        CallbackSubscription.safely(() -> listener.onEvent(event));
    }

    /** Whether {@code listener}'s class overrides the default method {@code name}. */
    private static boolean overrides(VoiceListener listener, String name, Class<?>... parameters) {
        try {
            return listener.getClass().getMethod(name, parameters).getDeclaringClass() != VoiceListener.class;
        } catch (NoSuchMethodException e) {
            return false;
        }
    }
}
