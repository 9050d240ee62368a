package dev.earshot.voice.jda;

import dev.earshot.samples.jda.JdaRecorderBot;
import dev.earshot.voice.testkit.ScriptedMember;
import net.dv8tion.jda.api.entities.Guild;
import net.dv8tion.jda.api.entities.Member;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static dev.earshot.voice.jda.Rig.CHANNEL;
import static dev.earshot.voice.jda.Rig.GUILD;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The JDA sample bot against the embedded voice server: a real JDA logged in to voice-jda's fake Discord gateway, the
 * bot's {@code record} and {@code stop} (what its {@code /record} and {@code /stop} call; the slash-command
 * interaction and the file upload go through Discord's REST API, which the fake does not serve).
 * (In voice-jda's test package to reach its package-private rig.)
 */
class JdaRecorderBotTest {
    @Test
    void recordsTheCallersChannelAndStopReturnsTheOggFilesAndTheMix() throws Exception {
        try (Rig rig = new Rig()) {
            Path root = Files.createTempDirectory("earshot-jda-bot");
            JdaRecorderBot bot = new JdaRecorderBot(rig.voice, root);
            rig.jda.addEventListener(bot);
            Guild guild = rig.jda.getGuildById(GUILD);
            Member caller = guild.getMemberById(1);
            assertEquals("Join a voice channel first.", bot.record(caller).get(20, TimeUnit.SECONDS));

            rig.discord.voiceStateOf(GUILD, 1, CHANNEL, "user-1-session");
            Rig.await("the caller in the channel", () -> caller.getVoiceState().getChannel() != null);
            assertEquals("Recording <#" + CHANNEL + ">", bot.record(caller).get(20, TimeUnit.SECONDS));
            ScriptedMember one = JdaTestKit.toneMember(rig.server, GUILD, CHANNEL, 1, 440, 1500);
            ScriptedMember two = JdaTestKit.toneMember(rig.server, GUILD, CHANNEL, 2, 660, 1000);
            JdaTestKit.awaitFinished(one);
            JdaTestKit.awaitFinished(two);
            JdaVoiceConnection c = rig.voice.connection(guild);
            Rig.await("both played out", () -> c.voice().stats().getSilenceFrames() >= 2);

            List<Path> posted = bot.stop(guild).get(20, TimeUnit.SECONDS);
            assertEquals(List.of("mixed.wav", "user-1-1.opus", "user-2-2.opus"),
                    posted.stream().map(p -> p.getFileName().toString()).toList());
            Path dir = posted.get(0).getParent();
            // Per-user WAVs named after the JDA users, about 1.5 s and 1 s of 48 kHz stereo, aligned to one timeline.
            long wav1 = Files.size(dir.resolve("user-1-1.wav")) - 44;
            long wav2 = Files.size(dir.resolve("user-2-2.wav")) - 44;
            assertTrue(wav1 > 192_000L * 14 / 10, "user-1: " + wav1);
            assertEquals(wav1, wav2, "aligned tracks have one length");
            assertTrue(Files.size(dir.resolve("mixed.wav")) - 44 >= wav1, "the mix covers the whole recording");
            for (Path p : posted) assertTrue(Files.size(p) > 1000, p + " is empty");
            assertEquals(List.of(), bot.stop(guild).get(20, TimeUnit.SECONDS)); // not recording any more
            Rig.await("the leave", () -> rig.commands(GUILD).contains(null));
        }
    }
}
