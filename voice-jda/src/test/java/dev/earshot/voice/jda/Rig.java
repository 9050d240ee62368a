package dev.earshot.voice.jda;

import dev.earshot.voice.ReceiveConfig;
import dev.earshot.voice.codec.PcmFormat;
import dev.earshot.voice.connection.VoiceConnectionConfig;
import dev.earshot.voice.testkit.VoiceGrant;
import dev.earshot.voice.testkit.VoiceTestServer;
import net.dv8tion.jda.api.JDA;
import net.dv8tion.jda.api.entities.channel.concrete.VoiceChannel;
import net.dv8tion.jda.api.hooks.VoiceDispatchInterceptor;
import net.dv8tion.jda.api.utils.data.DataObject;
import org.jspecify.annotations.Nullable;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.BooleanSupplier;

/**
 * A voice test server, a fake Discord gateway answering JDA's op 4 with its grants, a real JDA logged in there and a
 * {@link JdaVoice} installed as its interceptor. Guilds 111, 112, 113 with voice channels 222/223, 232, 242.
 */
final class Rig implements AutoCloseable {
    static final long GUILD = 111;
    static final long CHANNEL = 222;
    static final long OTHER_CHANNEL = 223;
    static final String CALLBACKS = "jda-test-callbacks";
    static final Duration WAIT = Duration.ofSeconds(20);

    final VoiceTestServer server = JdaTestKit.startServer();
    final FakeDiscord discord;
    final ExecutorService callbacks = Executors.newSingleThreadExecutor(r -> new Thread(r, CALLBACKS));
    final JdaVoice voice;
    final JDA jda;

    Rig() throws Exception {
        this(null);
    }

    Rig(@Nullable VoiceDispatchInterceptor delegate) throws Exception {
        discord = new FakeDiscord(List.of(
                new FakeDiscord.FakeGuild(GUILD, FakeDiscord.ids(CHANNEL, OTHER_CHANNEL), FakeDiscord.ids(1, 2)),
                new FakeDiscord.FakeGuild(GUILD + 1, FakeDiscord.ids(CHANNEL + 10), FakeDiscord.ids()),
                new FakeDiscord.FakeGuild(GUILD + 2, FakeDiscord.ids(CHANNEL + 20), FakeDiscord.ids())));
        discord.onVoiceCommand = this::answer;
        voice = JdaVoice.builder()
                .joinTimeout(Duration.ofSeconds(5))
                .config(VoiceConnectionConfig.builder().secure(false).reconnectDelay(Duration.ofMillis(100))
                        .receive(ReceiveConfig.builder().decode(PcmFormat.STEREO_48K).tickQueueCapacity(3000).build())
                        .build())
                .executor(callbacks)
                .delegate(delegate)
                .build();
        jda = discord.startJda(voice);
    }

    /** Discord's answer to op 4: the bot's voice state, then (joining a channel) a voice server from the test server. */
    private void answer(DataObject op4) {
        long guild = op4.getLong("guild_id");
        Long channel = op4.isNull("channel_id") ? null : op4.getLong("channel_id");
        String session = discord.sessionId();
        discord.voiceState(guild, channel, session);
        if (channel != null) {
            VoiceGrant grant = JdaTestKit.grant(server, guild, channel, session);
            discord.voiceServer(guild, grant.getToken(), grant.getEndpoint());
        }
    }

    VoiceChannel channel(long guild, long channel) {
        return jda.getGuildById(guild).getVoiceChannelById(channel);
    }

    JdaVoiceConnection connect(long guild, long channel) throws Exception {
        return voice.connect(channel(guild, channel)).get(WAIT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS);
    }

    /** The op 4 channels JDA sent for {@code guild}, in order (null: a leave). */
    List<@Nullable Long> commands(long guild) {
        return discord.voiceCommands.stream()
                .filter(d -> d.getLong("guild_id") == guild)
                .map(d -> d.isNull("channel_id") ? null : d.getLong("channel_id"))
                .toList();
    }

    static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting for " + what);
            Thread.sleep(10);
        }
    }

    @Override
    public void close() throws Exception {
        try {
            voice.close();
        } catch (RuntimeException e) {
            // a test that checks close failures has seen them already
        }
        jda.shutdownNow();
        discord.close();
        server.close();
        callbacks.shutdownNow();
    }
}
