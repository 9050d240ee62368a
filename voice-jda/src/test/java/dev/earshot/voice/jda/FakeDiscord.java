package dev.earshot.voice.jda;

import com.sun.net.httpserver.HttpServer;
import net.dv8tion.jda.api.JDA;
import net.dv8tion.jda.api.JDABuilder;
import net.dv8tion.jda.api.hooks.VoiceDispatchInterceptor;
import net.dv8tion.jda.api.requests.GatewayIntent;
import net.dv8tion.jda.api.requests.RestConfig;
import net.dv8tion.jda.api.utils.Compression;
import net.dv8tion.jda.api.utils.ConcurrentSessionController;
import net.dv8tion.jda.api.utils.MemberCachePolicy;
import net.dv8tion.jda.api.utils.cache.CacheFlag;
import net.dv8tion.jda.api.utils.data.DataArray;
import net.dv8tion.jda.api.utils.data.DataObject;
import org.jspecify.annotations.Nullable;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * A local stand-in for Discord's main gateway (WebSocket, JSON, no compression) and the one REST call JDA makes at
 * login ({@code GET users/@me}), on 127.0.0.1, so a real {@link JDA} logs in, loads its guilds from GUILD_CREATE and
 * dispatches VOICE_STATE_UPDATE / VOICE_SERVER_UPDATE through its own handlers to the voice interceptor. Op 4 that JDA
 * sends (its DirectAudioController) is recorded in {@link #voiceCommands} and, unless {@link #answer} is false, handed
 * to {@link #onVoiceCommand} (the test's answer: a voice state, and a server from the voice test server).
 *
 * <p>The WebSocket server is the least RFC 6455 needs here: the upgrade, masked client frames in, unmasked text
 * frames out, ping/pong and close.
 */
final class FakeDiscord implements AutoCloseable {
    static final long BOT = 999;
    private static final String GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    /** A guild the bot is in: its voice channels and the other members it has. */
    record FakeGuild(long id, List<Long> voiceChannels, List<Long> members) {
    }

    private final List<FakeGuild> guilds;
    private final HttpServer rest;
    private final ServerSocket ws;
    private final Thread acceptor;
    private final AtomicInteger sessions = new AtomicInteger();
    private final AtomicInteger seq = new AtomicInteger();
    /** Every op 4 payload JDA sent, in order. */
    final List<DataObject> voiceCommands = new CopyOnWriteArrayList<>();
    /** Every gateway connection's first command after Hello: "IDENTIFY" or "RESUME". */
    final List<String> logins = new CopyOnWriteArrayList<>();
    volatile boolean answer = true;
    volatile Consumer<DataObject> onVoiceCommand = d -> { };
    private volatile @Nullable Connection current;
    private volatile String sessionId = "";

    FakeDiscord(List<FakeGuild> guilds) throws IOException {
        this.guilds = List.copyOf(guilds);
        InetAddress loopback = InetAddress.getLoopbackAddress();
        rest = HttpServer.create(new InetSocketAddress(loopback, 0), 0);
        rest.createContext("/", exchange -> {
            String path = exchange.getRequestURI().getPath();
            String prefix = "/api/v10/users/";
            byte[] body;
            int code;
            if (path.startsWith(prefix)) {
                String id = path.substring(prefix.length());
                body = user("@me".equals(id) ? BOT : Long.parseLong(id)).toString().getBytes(StandardCharsets.UTF_8);
                code = 200;
            } else {
                body = "{\"message\":\"Unknown\",\"code\":0}".getBytes(StandardCharsets.UTF_8);
                code = 404;
            }
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(code, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        rest.start();
        ws = new ServerSocket(0, 50, loopback);
        acceptor = new Thread(this::acceptLoop, "fake-discord-gateway");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** A JDA logged in here with {@code interceptor}, its guilds loaded. */
    JDA startJda(VoiceDispatchInterceptor interceptor) throws InterruptedException {
        String gateway = "ws://127.0.0.1:" + ws.getLocalPort() + "/";
        JDA jda = JDABuilder.createLight("fake-token", GatewayIntent.GUILD_VOICE_STATES, GatewayIntent.GUILD_MEMBERS)
                .enableCache(CacheFlag.VOICE_STATE)
                .setMemberCachePolicy(MemberCachePolicy.ALL)
                .setCompression(Compression.NONE)
                .setRestConfig(new RestConfig().setBaseUrl("http://127.0.0.1:" + rest.getAddress().getPort() + "/api/v10/"))
                .setSessionController(new ConcurrentSessionController() {
                    @Override
                    public String getGateway() {
                        return gateway;
                    }
                })
                .setVoiceDispatchInterceptor(interceptor)
                .build();
        return jda.awaitReady();
    }

    /** The current gateway session's id: Discord's voice states carry it as {@code session_id}. */
    String sessionId() {
        return sessionId;
    }

    /** Dispatches the bot's VOICE_STATE_UPDATE. */
    void voiceState(long guild, @Nullable Long channel, String session) {
        voiceStateOf(guild, BOT, channel, session);
    }

    /** Dispatches {@code user}'s VOICE_STATE_UPDATE. */
    void voiceStateOf(long guild, long user, @Nullable Long channel, String session) {
        DataObject d = DataObject.empty()
                .put("guild_id", Long.toString(guild))
                .put("channel_id", channel == null ? null : Long.toString(channel))
                .put("user_id", Long.toString(user))
                .put("session_id", session)
                .put("deaf", false).put("mute", false).put("self_deaf", false).put("self_mute", false)
                .put("self_stream", false).put("self_video", false).put("suppress", false)
                .put("request_to_speak_timestamp", null)
                .put("member", member(user));
        dispatch("VOICE_STATE_UPDATE", d);
    }

    /** Dispatches a VOICE_SERVER_UPDATE ({@code endpoint} null: the server is being reallocated). */
    void voiceServer(long guild, String token, @Nullable String endpoint) {
        dispatch("VOICE_SERVER_UPDATE", DataObject.empty()
                .put("guild_id", Long.toString(guild)).put("token", token).put("endpoint", endpoint));
    }

    /** Op 9 (the session cannot be resumed): JDA identifies afresh and gets a new session. */
    void invalidateSession() {
        Connection c = current;
        if (c != null) c.send(DataObject.empty().put("op", 9).put("d", false));
    }

    @Override
    public void close() throws IOException {
        rest.stop(0);
        ws.close();
        Connection c = current;
        if (c != null) c.socket.close();
    }

    private void dispatch(String type, DataObject d) {
        Connection c = current;
        if (c == null) throw new IllegalStateException("JDA is not connected");
        c.send(DataObject.empty().put("op", 0).put("t", type).put("s", seq.incrementAndGet()).put("d", d));
    }

    private void acceptLoop() {
        while (!ws.isClosed()) {
            try {
                Socket socket = ws.accept();
                Thread t = new Thread(() -> serve(socket), "fake-discord-connection");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket socket) {
        try (socket) {
            Connection c = new Connection(socket);
            c.handshake();
            c.send(DataObject.empty().put("op", 10).put("d", DataObject.empty().put("heartbeat_interval", 41250)));
            String text;
            while ((text = c.read()) != null) handle(c, DataObject.fromJson(text));
        } catch (IOException e) {
            // the client went away
        }
    }

    private void handle(Connection c, DataObject message) {
        int op = message.getInt("op");
        switch (op) {
            case 1 -> c.send(DataObject.empty().put("op", 11));
            case 2 -> {
                logins.add("IDENTIFY");
                sessionId = "gateway-session-" + sessions.incrementAndGet();
                current = c;
                DataArray unavailable = DataArray.empty();
                for (FakeGuild g : guilds) unavailable.add(DataObject.empty().put("id", Long.toString(g.id)).put("unavailable", true));
                dispatchOn(c, "READY", DataObject.empty()
                        .put("v", 10)
                        .put("user", user(BOT))
                        .put("session_id", sessionId)
                        .put("resume_gateway_url", "ws://127.0.0.1:" + ws.getLocalPort() + "/")
                        .put("guilds", unavailable)
                        .put("private_channels", DataArray.empty())
                        .put("application", DataObject.empty().put("id", Long.toString(BOT)).put("flags", 0)));
                for (FakeGuild g : guilds) dispatchOn(c, "GUILD_CREATE", guildCreate(g));
            }
            case 6 -> {
                logins.add("RESUME");
                current = c;
                dispatchOn(c, "RESUMED", DataObject.empty());
            }
            case 4 -> {
                DataObject d = message.getObject("d");
                voiceCommands.add(d);
                if (answer) onVoiceCommand.accept(d);
            }
            default -> { }
        }
    }

    private void dispatchOn(Connection c, String type, DataObject d) {
        c.send(DataObject.empty().put("op", 0).put("t", type).put("s", seq.incrementAndGet()).put("d", d));
    }

    private DataObject guildCreate(FakeGuild g) {
        DataArray channels = DataArray.empty();
        int position = 0;
        for (long id : g.voiceChannels) {
            channels.add(DataObject.empty()
                    .put("id", Long.toString(id)).put("type", 2).put("name", "voice-" + id).put("position", position++)
                    .put("permission_overwrites", DataArray.empty()).put("bitrate", 64000).put("user_limit", 0)
                    .put("parent_id", null).put("rtc_region", null).put("nsfw", false));
        }
        DataArray members = DataArray.empty().add(member(BOT));
        for (long id : g.members) members.add(member(id));
        DataObject everyone = DataObject.empty()
                .put("id", Long.toString(g.id)).put("name", "@everyone").put("color", 0).put("position", 0)
                .put("permissions", "3145728").put("managed", false).put("hoist", false).put("mentionable", false)
                .put("colors", DataObject.empty().put("primary_color", 0)).put("flags", 0);
        return DataObject.empty()
                .put("id", Long.toString(g.id)).put("name", "guild-" + g.id).put("owner_id", Long.toString(BOT))
                .put("unavailable", false).put("member_count", members.length()).put("large", false)
                .put("afk_timeout", 300)
                .put("roles", DataArray.empty().add(everyone))
                .put("channels", channels)
                .put("members", members)
                .put("voice_states", DataArray.empty())
                .put("emojis", DataArray.empty()).put("stickers", DataArray.empty()).put("features", DataArray.empty())
                .put("presences", DataArray.empty()).put("threads", DataArray.empty())
                .put("guild_scheduled_events", DataArray.empty()).put("stage_instances", DataArray.empty())
                .put("soundboard_sounds", DataArray.empty())
                .put("premium_progress_bar_enabled", false);
    }

    private static DataObject user(long id) {
        return DataObject.empty()
                .put("id", Long.toString(id)).put("username", id == BOT ? "earshot" : "user-" + id)
                .put("discriminator", "0000").put("global_name", null).put("avatar", null).put("bot", id == BOT)
                .put("flags", 0);
    }

    private static DataObject member(long id) {
        return DataObject.empty()
                .put("user", user(id)).put("roles", DataArray.empty()).put("nick", null)
                .put("joined_at", "2024-01-01T00:00:00.000000+00:00").put("deaf", false).put("mute", false)
                .put("pending", false).put("flags", 0);
    }

    /** One gateway WebSocket: text frames in and out. */
    private static final class Connection {
        final Socket socket;
        private final DataInputStream in;
        private final OutputStream out;

        Connection(Socket socket) throws IOException {
            this.socket = socket;
            this.in = new DataInputStream(socket.getInputStream());
            this.out = socket.getOutputStream();
        }

        void handshake() throws IOException {
            Map<String, String> headers = new java.util.HashMap<>();
            String line;
            boolean first = true;
            while (!(line = readLine(in)).isEmpty()) {
                if (first) {
                    first = false;
                    continue;
                }
                int colon = line.indexOf(':');
                if (colon > 0) headers.put(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
            }
            String key = headers.get("sec-websocket-key");
            if (key == null) throw new IOException("not a WebSocket upgrade");
            String accept;
            try {
                accept = Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-1")
                        .digest((key + GUID).getBytes(StandardCharsets.US_ASCII)));
            } catch (java.security.NoSuchAlgorithmException e) {
                throw new IOException(e);
            }
            String response = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Accept: " + accept + "\r\n\r\n";
            synchronized (this) {
                out.write(response.getBytes(StandardCharsets.US_ASCII));
                out.flush();
            }
        }

        /** The next text message, or null at close. */
        @Nullable String read() throws IOException {
            ByteArrayOutputStream message = new ByteArrayOutputStream();
            while (true) {
                int b0 = in.read();
                if (b0 < 0) return null;
                int b1 = in.readUnsignedByte();
                boolean fin = (b0 & 0x80) != 0;
                int opcode = b0 & 0x0F;
                long length = b1 & 0x7F;
                if (length == 126) length = in.readUnsignedShort();
                else if (length == 127) length = in.readLong();
                byte[] mask = new byte[4];
                if ((b1 & 0x80) != 0) in.readFully(mask);
                byte[] payload = new byte[(int) length];
                in.readFully(payload);
                for (int i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3];
                switch (opcode) {
                    case 8 -> {
                        frame(8, payload);
                        return null;
                    }
                    case 9 -> frame(10, payload);
                    case 10 -> { }
                    default -> {
                        message.write(payload);
                        if (fin) return message.toString(StandardCharsets.UTF_8);
                    }
                }
            }
        }

        void send(DataObject message) {
            try {
                frame(1, message.toString().getBytes(StandardCharsets.UTF_8));
            } catch (IOException e) {
                // the client went away; its reconnect will come in on a new connection
            }
        }

        private synchronized void frame(int opcode, byte[] payload) throws IOException {
            ByteArrayOutputStream f = new ByteArrayOutputStream(payload.length + 10);
            f.write(0x80 | opcode);
            if (payload.length < 126) {
                f.write(payload.length);
            } else if (payload.length < 65536) {
                f.write(126);
                f.write(payload.length >>> 8);
                f.write(payload.length & 0xFF);
            } else {
                f.write(127);
                for (int i = 7; i >= 0; i--) f.write((int) ((long) payload.length >>> (8 * i)) & 0xFF);
            }
            f.write(payload);
            out.write(f.toByteArray());
            out.flush();
        }

        private static String readLine(InputStream in) throws IOException {
            StringBuilder sb = new StringBuilder();
            int c;
            while ((c = in.read()) >= 0 && c != '\n') {
                if (c != '\r') sb.append((char) c);
            }
            if (c < 0 && sb.length() == 0) throw new IOException("closed during the handshake");
            return sb.toString();
        }
    }

    static List<Long> ids(long... values) {
        List<Long> out = new ArrayList<>();
        for (long v : values) out.add(v);
        return out;
    }
}
