package dev.earshot.voice.javaapi;

import dev.earshot.voice.connection.VoiceSessionInfo;
import dev.earshot.voice.testkit.ClientSession;
import dev.earshot.voice.testkit.MemberScript;
import dev.earshot.voice.testkit.ScriptedMember;
import dev.earshot.voice.testkit.TestServerConfig;
import dev.earshot.voice.testkit.VoiceGrant;
import dev.earshot.voice.testkit.VoiceTestServer;

import java.time.Duration;
import java.util.Objects;

/** The testkit set up the way the Java tests use it, called from Java: one guild, channel and bot. */
final class JavaTestKit {
    static final long GUILD = 111;
    static final long CHANNEL = 222;
    static final long BOT = 999;

    private JavaTestKit() {
    }

    /** A local voice server on 127.0.0.1 without TLS; without DAVE unless {@code requireDave} (then 4017 for clients without it). */
    static VoiceTestServer startServer(boolean requireDave) {
        return VoiceTestServer.start(TestServerConfig.builder().daveProtocolVersion(requireDave ? 1 : 0).requireDave(requireDave).seed(11L).build());
    }

    /** The bot's session details on {@code server}. */
    static VoiceSessionInfo sessionInfo(VoiceTestServer server) {
        return info(server.grant(Long.toString(GUILD), Long.toString(CHANNEL), Long.toString(BOT)));
    }

    /** A new grant for the bot in the same channel and voice session {@code sessionId}, as a VOICE_SERVER_UPDATE brings. */
    static VoiceSessionInfo regrant(VoiceTestServer server, String sessionId) {
        return info(server.grant(Long.toString(GUILD), Long.toString(CHANNEL), Long.toString(BOT), sessionId));
    }

    /** A transport-only member who says {@code spurts} tones of {@code toneMillis} ms at {@code hz}, 400 ms apart. */
    static ScriptedMember toneMember(VoiceTestServer server, long userId, double hz, long toneMillis, int spurts) {
        MemberScript.Builder script = MemberScript.builder();
        for (int i = 0; i < spurts; i++) script.tone(hz, Duration.ofMillis(toneMillis)).pause(Duration.ofMillis(400));
        return server.channel(Long.toString(GUILD), Long.toString(CHANNEL)).newMember(Long.toString(userId))
                .script(script.build()).dave(false).add();
    }

    /** A transport-only member who says nothing. */
    static ScriptedMember silentMember(VoiceTestServer server, long userId) {
        return server.channel(Long.toString(GUILD), Long.toString(CHANNEL)).newMember(Long.toString(userId))
                .script(MemberScript.SILENT).dave(false).add();
    }

    /** Makes the server close the bot's WebSocket with {@code code}. */
    static void closeBot(VoiceTestServer server, int code) {
        ClientSession bot = Objects.requireNonNull(server.session(Long.toString(GUILD), Long.toString(BOT)), "no bot session");
        bot.closeConnection(code, "test");
    }

    private static VoiceSessionInfo info(VoiceGrant g) {
        return new VoiceSessionInfo(GUILD, CHANNEL, BOT, g.getSessionId(), g.getToken(), g.getEndpoint());
    }
}
