package dev.earshot.voice.jda;

import dev.earshot.voice.testkit.ClientSession;
import dev.earshot.voice.testkit.MemberScript;
import dev.earshot.voice.testkit.ScriptedMember;
import dev.earshot.voice.testkit.TestServerConfig;
import dev.earshot.voice.testkit.VoiceGrant;
import dev.earshot.voice.testkit.VoiceTestServer;
import org.jspecify.annotations.Nullable;

import java.time.Duration;
import java.util.concurrent.TimeoutException;

/**
 * The testkit calls the JDA tests share, through the testkit's Java API: the server, the bot's grants, scripted
 * members and what the server knows of the bot's voice session.
 */
final class JdaTestKit {
    private static final Duration MEMBER_WAIT = Duration.ofSeconds(30);
    private static final Duration SCRIPT_WAIT = Duration.ofSeconds(60);

    private JdaTestKit() {
    }

    /** A local voice server on 127.0.0.1 without TLS, offering DAVE. */
    static VoiceTestServer startServer() {
        return VoiceTestServer.start(TestServerConfig.builder().seed(3L).build());
    }

    /** The bot's grant in {@code channel} of {@code guild} for the main-gateway session {@code sessionId}. */
    static VoiceGrant grant(VoiceTestServer server, long guild, long channel, String sessionId) {
        return server.grant(Long.toString(guild), Long.toString(channel), Long.toString(FakeDiscord.BOT), sessionId);
    }

    /** Moves the server to a new endpoint; the bot's new grant there in {@code guild}. */
    static VoiceGrant moveEndpoint(VoiceTestServer server, long guild) {
        return server.moveEndpoint().stream()
                .filter(g -> g.getUserId().equals(Long.toString(FakeDiscord.BOT)) && g.getGuildId().equals(Long.toString(guild)))
                .reduce((a, b) -> {
                    throw new IllegalStateException("two grants of the bot in guild " + guild);
                })
                .orElseThrow(() -> new IllegalStateException("no grant of the bot in guild " + guild + " after the move"));
    }

    /** A DAVE member who, once it has its key, sends a tone of {@code hz} for {@code millis} ms. */
    static ScriptedMember toneMember(VoiceTestServer server, long guild, long channel, long userId, double hz, long millis) {
        MemberScript script = MemberScript.builder().awaitDave().tone(hz, Duration.ofMillis(millis)).build();
        return server.channel(Long.toString(guild), Long.toString(channel)).addMember(Long.toString(userId), script);
    }

    /** The audio (non-silence) frames {@code member} has sent so far. */
    static int sentAudio(ScriptedMember member) {
        return (int) member.getSent().stream().filter(f -> !f.isSilence()).count();
    }

    /** Waits (at most 30 s) until {@code member} has sent {@code frames} frames. */
    static void awaitSent(ScriptedMember member, int frames) throws InterruptedException {
        long deadline = System.nanoTime() + MEMBER_WAIT.toNanos();
        while (member.getSent().size() < frames) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("member " + member.getUserId() + " sent " + member.getSent().size() + " of " + frames + " frames in " + MEMBER_WAIT);
            }
            Thread.sleep(5);
        }
    }

    /** Waits (at most 60 s) until {@code member}'s script has finished; rethrows what made it fail. */
    static void awaitFinished(ScriptedMember member) throws TimeoutException, InterruptedException {
        member.awaitFinished(SCRIPT_WAIT);
    }

    /** The channel of the bot's voice session in {@code guild} on {@code server}, or null without one. */
    static @Nullable String botChannel(VoiceTestServer server, long guild) {
        ClientSession s = botSession(server, guild);
        return s == null ? null : s.getChannelId();
    }

    /** The endpoint of the bot's voice session in {@code guild}, or null without one. */
    static @Nullable String botEndpoint(VoiceTestServer server, long guild) {
        ClientSession s = botSession(server, guild);
        return s == null ? null : s.getGrant().getEndpoint();
    }

    /** The main-gateway session id the bot's voice session in {@code guild} identified with, or null. */
    static @Nullable String botSessionId(VoiceTestServer server, long guild) {
        ClientSession s = botSession(server, guild);
        return s == null ? null : s.getGrant().getSessionId();
    }

    /** Makes the server close the bot's voice WebSocket in {@code guild} with {@code code}. */
    static void closeBot(VoiceTestServer server, long guild, int code) {
        ClientSession s = botSession(server, guild);
        if (s == null) throw new IllegalStateException("no bot session in guild " + guild);
        s.closeConnection(code, "test");
    }

    private static @Nullable ClientSession botSession(VoiceTestServer server, long guild) {
        return server.session(Long.toString(guild), Long.toString(FakeDiscord.BOT));
    }
}
