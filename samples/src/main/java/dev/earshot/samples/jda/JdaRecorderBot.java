package dev.earshot.samples.jda;

import dev.earshot.voice.codec.PcmFormat;
import dev.earshot.voice.javaapi.Sinks;
import dev.earshot.voice.jda.JdaVoice;
import dev.earshot.voice.jda.JdaVoiceConnection;
import net.dv8tion.jda.api.JDA;
import net.dv8tion.jda.api.JDABuilder;
import net.dv8tion.jda.api.entities.Guild;
import net.dv8tion.jda.api.entities.GuildVoiceState;
import net.dv8tion.jda.api.entities.Member;
import net.dv8tion.jda.api.entities.User;
import net.dv8tion.jda.api.entities.channel.middleman.AudioChannel;
import net.dv8tion.jda.api.events.interaction.command.SlashCommandInteractionEvent;
import net.dv8tion.jda.api.hooks.ListenerAdapter;
import net.dv8tion.jda.api.interactions.commands.build.Commands;
import net.dv8tion.jda.api.requests.GatewayIntent;
import net.dv8tion.jda.api.utils.FileUpload;
import net.dv8tion.jda.api.utils.MemberCachePolicy;
import net.dv8tion.jda.api.utils.cache.CacheFlag;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * A JDA bot that records voice channels with Earshot: {@code /record} joins the caller's voice channel and records
 * every speaker (aligned per-user WAV named after the JDA user, the mixed WAV, per-user Ogg Opus), {@code /stop}
 * leaves and posts the Ogg files and the mix. Needs the GUILD_VOICE_STATES intent and the VOICE_STATE cache.
 *
 * <p>Run: {@code EARSHOT_TOKEN=... java -cp <samples classpath> dev.earshot.samples.jda.JdaRecorderBot}
 * ({@code mvn -B -q -Pdemo -pl samples -am verify -DskipTests -Ddemo.main=dev.earshot.samples.jda.JdaRecorderBot}).
 */
public final class JdaRecorderBot extends ListenerAdapter {
    /** Discord's attachment cap for bots without boosts: bigger files are named, not posted. */
    static final long MAX_ATTACHMENT = 10L * 1024 * 1024;

    private final JdaVoice voice;
    private final Path root;
    private final Map<Long, Path> recordings = new ConcurrentHashMap<>();

    /** A bot recording through {@code voice} into new directories under {@code root}. */
    public JdaRecorderBot(JdaVoice voice, Path root) {
        this.voice = voice;
        this.root = root;
    }

    public static void main(String[] args) throws Exception {
        String token = System.getenv("EARSHOT_TOKEN");
        if (token == null) throw new IllegalStateException("set EARSHOT_TOKEN to the bot's token");
        JdaVoice voice = JdaVoice.create();
        JdaRecorderBot bot = new JdaRecorderBot(voice, Files.createTempDirectory("earshot-jda-"));
        JDA jda = JDABuilder.createLight(token, GatewayIntent.GUILD_VOICE_STATES)
                .enableCache(CacheFlag.VOICE_STATE)
                .setMemberCachePolicy(MemberCachePolicy.VOICE)
                .setVoiceDispatchInterceptor(voice)
                .addEventListeners(bot)
                .build()
                .awaitReady();
        jda.updateCommands().addCommands(
                Commands.slash("record", "Join your voice channel and record it"),
                Commands.slash("stop", "Stop recording, leave, and post the files")).queue();
        Runtime.getRuntime().addShutdownHook(new Thread(voice::close));
    }

    @Override
    public void onSlashCommandInteraction(SlashCommandInteractionEvent event) {
        Guild guild = event.getGuild();
        Member caller = event.getMember();
        if (guild == null || caller == null) return;
        switch (event.getName()) {
            case "record" -> {
                event.deferReply().queue();
                record(caller).whenComplete((text, e) ->
                        event.getHook().sendMessage(e == null ? text : "Could not join: " + e.getMessage()).queue());
            }
            case "stop" -> {
                event.deferReply().queue();
                stop(guild).whenComplete((files, e) -> {
                    if (e != null) {
                        event.getHook().sendMessage("Stopped, but: " + e.getMessage()).queue();
                        return;
                    }
                    List<Path> fits = files.stream().filter(JdaRecorderBot::postable).toList();
                    String text = files.isEmpty() ? "Not recording." : "Stopped: " + files.size() + " files, " + fits.size() + " posted.";
                    // At most 10 attachments per message.
                    event.getHook().sendMessage(text).queue();
                    for (int i = 0; i < fits.size(); i += 10) {
                        List<FileUpload> uploads = fits.subList(i, Math.min(i + 10, fits.size())).stream()
                                .map(p -> FileUpload.fromData(p.toFile())).toList();
                        event.getChannel().sendFiles(uploads).queue();
                    }
                });
            }
            default -> { }
        }
    }

    /**
     * Joins {@code caller}'s voice channel and starts recording; completes with the reply text. Per-user WAVs are
     * named after the JDA user where JDA knows them.
     */
    public CompletableFuture<String> record(Member caller) {
        GuildVoiceState state = caller.getVoiceState();
        AudioChannel channel = state == null ? null : state.getChannel();
        if (channel == null) return CompletableFuture.completedFuture("Join a voice channel first.");
        Path dir;
        try {
            dir = Files.createDirectories(root.resolve(channel.getGuild().getId() + "-" + System.currentTimeMillis()));
        } catch (IOException e) {
            return CompletableFuture.failedFuture(e);
        }
        return voice.connect(channel).thenApply(c -> {
            c.voice().listen(Sinks.perUserWav(dir, PcmFormat.STEREO_48K, id -> fileName(c, id) + ".wav"));
            c.voice().listen(Sinks.mixedWav(dir.resolve("mixed.wav")));
            c.voice().listen(Sinks.perUserOgg(dir, id -> fileName(c, id) + ".opus"));
            recordings.put(channel.getGuild().getIdLong(), dir);
            return "Recording " + channel.getAsMention();
        });
    }

    /** Leaves {@code guild}'s channel (the files are finished first) and completes with the files to post: Ogg and the mix. */
    public CompletableFuture<List<Path>> stop(Guild guild) {
        Path dir = recordings.remove(guild.getIdLong());
        if (dir == null) return CompletableFuture.completedFuture(List.of());
        return voice.disconnect(guild).thenApply(v -> {
            try (Stream<Path> files = Files.list(dir)) {
                return files.filter(p -> p.getFileName().toString().endsWith(".opus") || p.getFileName().toString().equals("mixed.wav"))
                        .sorted().toList();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    private static String fileName(JdaVoiceConnection c, long userId) {
        User user = c.user(userId);
        return user == null ? "user-" + Long.toUnsignedString(userId) : user.getName() + "-" + user.getId();
    }

    private static boolean postable(Path p) {
        try {
            return Files.size(p) < MAX_ATTACHMENT;
        } catch (IOException e) {
            return false;
        }
    }
}
