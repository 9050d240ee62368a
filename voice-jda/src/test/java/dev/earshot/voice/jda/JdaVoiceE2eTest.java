package dev.earshot.voice.jda;

import dev.earshot.voice.connection.VoiceChannelLeftException;
import dev.earshot.voice.javaapi.ConnectionState;
import dev.earshot.voice.javaapi.Sinks;
import dev.earshot.voice.javaapi.Subscription;
import dev.earshot.voice.javaapi.VoiceFrame;
import dev.earshot.voice.testkit.ScriptedMember;
import dev.earshot.voice.testkit.VoiceGrant;
import net.dv8tion.jda.api.entities.Member;
import net.dv8tion.jda.api.hooks.VoiceDispatchInterceptor;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.earshot.voice.jda.Rig.CHANNEL;
import static dev.earshot.voice.jda.Rig.GUILD;
import static dev.earshot.voice.jda.Rig.OTHER_CHANNEL;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * JdaVoice inside a real JDA logged in to a fake Discord gateway on loopback, against the voice test server: op 4 goes
 * out through JDA's DirectAudioController, the answers come back through JDA's own VOICE_STATE_UPDATE and
 * VOICE_SERVER_UPDATE handlers and its interceptor call.
 */
class JdaVoiceE2eTest {
    @Test
    void joinConnectsThroughJdaAndLeaveSendsOp4WithoutChannel() throws Exception {
        try (Rig rig = new Rig()) {
            JdaVoiceConnection c = rig.connect(GUILD, CHANNEL);
            assertTrue(c.isAlive());
            assertEquals(CHANNEL, c.channelId());
            assertEquals(rig.channel(GUILD, CHANNEL), c.channel());
            assertEquals(Map.of(GUILD, c), rig.voice.connections());
            assertEquals(Arrays.asList(CHANNEL), rig.commands(GUILD));
            assertEquals(Long.toString(CHANNEL), JdaTestKit.botChannel(rig.server, GUILD));
            assertEquals(rig.discord.sessionId(), JdaTestKit.botSessionId(rig.server, GUILD));

            rig.voice.disconnect(c.guild()).get(20, TimeUnit.SECONDS);
            assertNull(c.voice().closed().get(5, TimeUnit.SECONDS));
            assertEquals(Map.of(), rig.voice.connections());
            Rig.await("op 4 leave", () -> rig.commands(GUILD).size() == 2);
            assertEquals(Arrays.asList(CHANNEL, null), rig.commands(GUILD));
            Rig.await("the voice session to end", () -> JdaTestKit.botChannel(rig.server, GUILD) == null);
        }
    }

    /** Counts a user's decoded frames, on the callbacks thread. */
    private static final class Counter implements dev.earshot.voice.javaapi.UserAudioListener {
        final AtomicInteger decoded = new AtomicInteger();
        final List<String> wrongThreads = new CopyOnWriteArrayList<>();

        @Override
        public void onAudio(VoiceFrame frame) {
            if (!Thread.currentThread().getName().equals(Rig.CALLBACKS)) wrongThreads.add(Thread.currentThread().getName());
            if (frame.kind() == VoiceFrame.Kind.DECODED) decoded.incrementAndGet();
        }
    }

    @Test
    void usersResolveToJdaEntitiesAndFuturesCompleteOnTheCallerExecutor() throws Exception {
        try (Rig rig = new Rig()) {
            String thread = rig.voice.connect(rig.channel(GUILD, CHANNEL))
                    .thenApply(c -> Thread.currentThread().getName())
                    .get(20, TimeUnit.SECONDS);
            assertEquals(Rig.CALLBACKS, thread);
            JdaVoiceConnection c = rig.voice.connection(rig.jda.getGuildById(GUILD));
            assertNotNull(c);
            ScriptedMember member = JdaTestKit.toneMember(rig.server, GUILD, CHANNEL, 1, 440, 400);
            Rig.await("the member to be announced", () -> c.voice().members().contains(1L));
            assertEquals("user-1", c.user(1).getName());
            assertEquals(List.of(rig.jda.getGuildById(GUILD).getMemberById(1)), c.members());
            Member fetched = c.retrieveMember(2).get(20, TimeUnit.SECONDS);
            assertEquals(2L, fetched.getIdLong());
            assertNull(c.member(77)); // not in JDA's cache
            assertEquals("user-77", c.retrieveUser(77).get(20, TimeUnit.SECONDS).getName()); // fetched over REST
            // The member's script waits for a DAVE key, which only comes while the bot is in the group: let it
            // finish before the bot leaves.
            JdaTestKit.awaitFinished(member);
            CompletableFuture<String> closedOn = c.closed().thenApply(x -> Thread.currentThread().getName());
            c.disconnect().get(20, TimeUnit.SECONDS);
            assertEquals(Rig.CALLBACKS, closedOn.get(20, TimeUnit.SECONDS));
        }
    }

    @Test
    void joinTimeoutNamesTheMissingEventsAndLeaves() throws Exception {
        try (Rig rig = new Rig()) {
            rig.discord.answer = false;
            ExecutionException e = assertThrows(ExecutionException.class, () -> rig.connect(GUILD, CHANNEL));
            VoiceJoinTimeoutException timeout = assertInstanceOf(VoiceJoinTimeoutException.class, e.getCause());
            assertEquals(List.of("VOICE_STATE_UPDATE", "VOICE_SERVER_UPDATE"), timeout.missing());
            assertEquals(CHANNEL, timeout.channelId());
            Rig.await("the leave", () -> rig.commands(GUILD).contains(null));
            assertEquals(Map.of(), rig.voice.connections());

            // Only the state comes: the message names the server update.
            rig.discord.answer = true;
            rig.discord.onVoiceCommand = d -> {
                if (!d.isNull("channel_id")) rig.discord.voiceState(GUILD, d.getLong("channel_id"), rig.discord.sessionId());
            };
            ExecutionException e2 = assertThrows(ExecutionException.class, () -> rig.connect(GUILD, CHANNEL));
            assertEquals(List.of("VOICE_SERVER_UPDATE"), ((VoiceJoinTimeoutException) e2.getCause()).missing());
        }
    }

    @Test
    void cancellingTheJoinLeavesTheChannel() throws Exception {
        try (Rig rig = new Rig()) {
            rig.discord.answer = false;
            CompletableFuture<JdaVoiceConnection> join = rig.voice.connect(rig.channel(GUILD, CHANNEL));
            Rig.await("op 4", () -> rig.commands(GUILD).size() == 1);
            join.cancel(true);
            Rig.await("the leave", () -> rig.commands(GUILD).equals(Arrays.asList(CHANNEL, null)));
            assertTrue(join.isCancelled());
            assertEquals(Map.of(), rig.voice.connections());
            rig.discord.answer = true;
            assertTrue(rig.connect(GUILD, CHANNEL).isAlive()); // the guild can be joined again
        }
    }

    @Test
    void serverMoveAndReallocationMidRecording() throws Exception {
        try (Rig rig = new Rig()) {
            JdaVoiceConnection c = rig.connect(GUILD, CHANNEL);
            Path dir = Files.createTempDirectory("earshot-jda");
            c.voice().listen(Sinks.perUserWav(dir));
            Counter counter = new Counter();
            Subscription sub = c.voice().subscribeUser(1, counter, rig.callbacks);
            ScriptedMember member = JdaTestKit.toneMember(rig.server, GUILD, CHANNEL, 1, 440, 4000);
            JdaTestKit.awaitSent(member, 50);
            // Reallocation: a server update without endpoint (JDA keeps it to itself), then the new server.
            rig.discord.voiceServer(GUILD, "unused", null);
            String first = JdaTestKit.botEndpoint(rig.server, GUILD);
            VoiceGrant moved = JdaTestKit.moveEndpoint(rig.server, GUILD);
            assertNotEquals(first, moved.getEndpoint());
            rig.discord.voiceServer(GUILD, moved.getToken(), moved.getEndpoint());
            Rig.await("the bot on the new endpoint", () -> moved.getEndpoint().equals(JdaTestKit.botEndpoint(rig.server, GUILD))
                    && c.voice().state() == ConnectionState.CONNECTED);
            // A second move (a voice server change mid-call).
            JdaTestKit.awaitSent(member, 120);
            VoiceGrant again = JdaTestKit.moveEndpoint(rig.server, GUILD);
            rig.discord.voiceServer(GUILD, again.getToken(), again.getEndpoint());
            Rig.await("the bot on the third endpoint", () -> again.getEndpoint().equals(JdaTestKit.botEndpoint(rig.server, GUILD)));
            JdaTestKit.awaitFinished(member);
            Rig.await("the member played out", () -> c.voice().stats().getSilenceFrames() > 0);
            assertTrue(c.isAlive());
            assertSame(c, rig.voice.connections().get(GUILD));
            assertEquals(List.of(CHANNEL), rig.commands(GUILD)); // server moves need no op 4
            c.disconnect().get(20, TimeUnit.SECONDS);
            sub.close();
            int sent = JdaTestKit.sentAudio(member);
            System.out.println("jda server moves: " + sent + " sent, " + counter.decoded.get() + " decoded");
            assertTrue(counter.decoded.get() * 100 / sent > 75, counter.decoded.get() + " of " + sent);
            assertEquals(List.of(), counter.wrongThreads);
            // The WAV runs across both moves: about 4 s of stereo 48 kHz 16-bit.
            assertTrue(Files.size(dir.resolve("user-1.wav")) - 44 > 4L * 192_000 * 80 / 100);
        }
    }

    @Test
    void channelMoveByTheBotKeepsTheConnectionAndTheRecording() throws Exception {
        try (Rig rig = new Rig()) {
            JdaVoiceConnection c = rig.connect(GUILD, CHANNEL);
            Counter counter = new Counter();
            c.voice().subscribeUser(2, counter, rig.callbacks);
            JdaVoiceConnection moved = rig.voice.connect(rig.channel(GUILD, OTHER_CHANNEL)).get(20, TimeUnit.SECONDS);
            assertSame(c, moved);
            Rig.await("the bot in the other channel", () -> Long.toString(OTHER_CHANNEL).equals(JdaTestKit.botChannel(rig.server, GUILD))
                    && c.voice().state() == ConnectionState.CONNECTED);
            assertEquals(OTHER_CHANNEL, c.channelId());
            ScriptedMember member = JdaTestKit.toneMember(rig.server, GUILD, OTHER_CHANNEL, 2, 660, 2000);
            JdaTestKit.awaitFinished(member);
            Rig.await("the member played out", () -> c.voice().stats().getSilenceFrames() > 0);
            assertEquals(Arrays.asList(CHANNEL, OTHER_CHANNEL), rig.commands(GUILD));
            assertSame(c, rig.voice.connect(rig.channel(GUILD, OTHER_CHANNEL)).get(20, TimeUnit.SECONDS)); // same channel: as is
            assertEquals(2, rig.commands(GUILD).size());
            c.disconnect().get(20, TimeUnit.SECONDS);
            assertTrue(counter.decoded.get() > 80, counter.decoded.get() + " of 100");
        }
    }

    @Test
    void movedByAModeratorWithThe4014BeforeTheVoiceStateMidRecording() throws Exception {
        try (Rig rig = new Rig()) {
            JdaVoiceConnection c = rig.connect(GUILD, CHANNEL);
            Counter before = new Counter();
            c.voice().subscribeUser(1, before, rig.callbacks);
            Counter after = new Counter();
            c.voice().subscribeUser(2, after, rig.callbacks);
            ScriptedMember first = JdaTestKit.toneMember(rig.server, GUILD, CHANNEL, 1, 440, 1000);
            JdaTestKit.awaitFinished(first);
            Rig.await("the first member played out", () -> before.decoded.get() > 40);
            // Discord's order in the field: the voice server closes the old session first, then the main gateway's
            // VOICE_STATE_UPDATE and VOICE_SERVER_UPDATE for the new channel arrive.
            JdaTestKit.closeBot(rig.server, GUILD, 4014);
            Rig.await("waiting for the move", () -> c.voice().state() == ConnectionState.WAITING_FOR_SERVER);
            assertTrue(c.isAlive());
            String session = rig.discord.sessionId();
            rig.discord.voiceState(GUILD, OTHER_CHANNEL, session);
            VoiceGrant grant = JdaTestKit.grant(rig.server, GUILD, OTHER_CHANNEL, session);
            rig.discord.voiceServer(GUILD, grant.getToken(), grant.getEndpoint());
            Rig.await("the bot in the other channel", () -> Long.toString(OTHER_CHANNEL).equals(JdaTestKit.botChannel(rig.server, GUILD))
                    && c.voice().state() == ConnectionState.CONNECTED);
            assertEquals(OTHER_CHANNEL, c.channelId());
            assertEquals(rig.channel(GUILD, OTHER_CHANNEL), c.channel());
            ScriptedMember second = JdaTestKit.toneMember(rig.server, GUILD, OTHER_CHANNEL, 2, 660, 1000);
            JdaTestKit.awaitFinished(second);
            Rig.await("the second member recorded", () -> after.decoded.get() > 40);
            assertSame(c, rig.voice.connections().get(GUILD));
            assertEquals(List.of(CHANNEL), rig.commands(GUILD)); // the move was someone else's: we sent nothing
        }
    }

    @Test
    void kickEndsTheConnectionWithItsTypedCauseAndSendsNoLeave() throws Exception {
        try (Rig rig = new Rig()) {
            JdaVoiceConnection c = rig.connect(GUILD, CHANNEL);
            rig.discord.voiceState(GUILD, null, rig.discord.sessionId());
            ExecutionException ended = assertThrows(ExecutionException.class, () -> c.closed().get(20, TimeUnit.SECONDS));
            assertEquals(CHANNEL, assertInstanceOf(VoiceChannelLeftException.class, ended.getCause()).getChannelId());
            Rig.await("the manager to forget it", () -> rig.voice.connections().isEmpty());
            assertEquals(List.of(CHANNEL), rig.commands(GUILD));
            JdaVoiceConnection again = rig.connect(GUILD, CHANNEL);
            assertNotSame(c, again);
            assertTrue(again.isAlive());
        }
    }

    @Test
    void concurrentJoinsInSeveralGuildsAndForOneGuild() throws Exception {
        try (Rig rig = new Rig()) {
            List<CompletableFuture<JdaVoiceConnection>> joins = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                joins.add(rig.voice.connect(rig.channel(GUILD, CHANNEL)));
                joins.add(rig.voice.connect(rig.channel(GUILD + 1, CHANNEL + 10)));
                joins.add(rig.voice.connect(rig.channel(GUILD + 2, CHANNEL + 20)));
            }
            CompletableFuture.allOf(joins.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
            for (int i = 3; i < joins.size(); i++) assertSame(joins.get(i % 3).get(), joins.get(i).get());
            assertEquals(3, rig.voice.connections().size());
            assertEquals(Set.of(GUILD, GUILD + 1, GUILD + 2), rig.voice.connections().keySet());
            for (long g = GUILD; g <= GUILD + 2; g++) assertEquals(1, rig.commands(g).size());
            assertEquals(3, rig.server.getSessions().size());
            rig.voice.disconnectAll().get(20, TimeUnit.SECONDS);
            assertEquals(Map.of(), rig.voice.connections());
            assertTrue(rig.voice.isAlive());
        }
    }

    @Test
    void closeTriesEveryGuildAndReportsEachFailureTogether() throws Exception {
        try (Rig rig = new Rig()) {
            JdaVoiceConnection a = rig.connect(GUILD, CHANNEL);
            JdaVoiceConnection b = rig.connect(GUILD + 1, CHANNEL + 10);
            JdaVoiceConnection c = rig.connect(GUILD + 2, CHANNEL + 20);
            // The shard went away: no leave can be sent any more. shutdownNow() returns before JDA's status says so;
            // a leave tried in between would still go out.
            rig.jda.shutdownNow();
            assertTrue(rig.jda.awaitShutdown(Duration.ofSeconds(10)), () -> "JDA still " + rig.jda.getStatus());
            JdaVoiceCloseException e = assertThrows(JdaVoiceCloseException.class, rig.voice::close);
            assertEquals(Set.of(GUILD, GUILD + 1, GUILD + 2), e.failures().keySet());
            for (Throwable t : e.failures().values()) {
                assertInstanceOf(IllegalStateException.class, t);
                assertTrue(t.getMessage().contains("was not sent: JDA is SHUT"), t.getMessage());
            }
            assertEquals(3, e.getSuppressed().length);
            assertTrue(e.getMessage().startsWith("disconnecting failed in 3 guild(s): "), e.getMessage());
            for (JdaVoiceConnection x : List.of(a, b, c)) assertFalse(x.isAlive());
            assertEquals(Map.of(), rig.voice.connections());
            assertFalse(rig.voice.isAlive());
            ExecutionException closed = assertThrows(ExecutionException.class, () -> rig.connect(GUILD, CHANNEL));
            assertInstanceOf(IllegalStateException.class, closed.getCause());
        }
    }

    @Test
    void anotherInterceptorSeesEveryVoiceEventAndKeepsItsOwnGuild() throws Exception {
        List<String> seen = new CopyOnWriteArrayList<>();
        VoiceDispatchInterceptor lavalink = new VoiceDispatchInterceptor() {
            @Override
            public void onVoiceServerUpdate(VoiceServerUpdate update) {
                seen.add("server " + update.getGuildIdLong() + " " + update.getEndpoint());
            }

            @Override
            public boolean onVoiceStateUpdate(VoiceStateUpdate update) {
                seen.add("state " + update.getGuildIdLong() + " " + (update.getChannel() == null ? null : update.getChannel().getIdLong()));
                return true;
            }
        };
        try (Rig rig = new Rig(lavalink)) {
            JdaVoiceConnection c = rig.connect(GUILD, CHANNEL);
            // The other system plays music in guild 112: its join goes through JDA too; Earshot leaves it alone.
            rig.discord.onVoiceCommand = d -> {
                long guild = d.getLong("guild_id");
                if (guild == GUILD + 1) {
                    rig.discord.voiceState(guild, d.getLong("channel_id"), rig.discord.sessionId());
                    rig.discord.voiceServer(guild, "lavalink-token", "lavalink.example:443");
                }
            };
            rig.jda.getDirectAudioController().connect(rig.channel(GUILD + 1, CHANNEL + 10));
            Rig.await("the other system's events", () -> seen.contains("server " + (GUILD + 1) + " lavalink.example:443"));
            assertTrue(seen.contains("state " + GUILD + " " + CHANNEL));
            assertTrue(seen.contains("state " + (GUILD + 1) + " " + (CHANNEL + 10)));
            assertTrue(seen.stream().anyMatch(x -> x.startsWith("server " + GUILD + " 127.0.0.1:")));
            assertEquals(Set.of(GUILD), rig.voice.connections().keySet());
            assertNull(JdaTestKit.botChannel(rig.server, GUILD + 1));
            assertTrue(c.isAlive());
            assertEquals(ConnectionState.CONNECTED, c.voice().state());
        }
    }

    @Test
    void aNewGatewaySessionRejoinsAndTheConnectionCarriesOnWithTheNewVoiceSession() throws Exception {
        try (Rig rig = new Rig()) {
            JdaVoiceConnection c = rig.connect(GUILD, CHANNEL);
            Counter counter = new Counter();
            c.voice().subscribeUser(1, counter, rig.callbacks);
            String oldSession = rig.discord.sessionId();
            rig.discord.invalidateSession();
            Rig.await("a new gateway session", () -> !rig.discord.sessionId().equals(oldSession));
            Rig.await("the rejoin", () -> rig.commands(GUILD).size() == 2);
            assertEquals(Arrays.asList(CHANNEL, CHANNEL), rig.commands(GUILD));
            String newSession = rig.discord.sessionId();
            Rig.await("the voice session re-identified with the new session id",
                    () -> newSession.equals(JdaTestKit.botSessionId(rig.server, GUILD)) && c.voice().state() == ConnectionState.CONNECTED);
            ScriptedMember member = JdaTestKit.toneMember(rig.server, GUILD, CHANNEL, 1, 440, 1000);
            JdaTestKit.awaitFinished(member);
            Rig.await("the member recorded after the new session", () -> counter.decoded.get() > 40);
            assertSame(c, rig.voice.connections().get(GUILD));
        }
    }
}
