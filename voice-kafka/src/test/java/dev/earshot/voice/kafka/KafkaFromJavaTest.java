package dev.earshot.voice.kafka;

import dev.earshot.voice.ReceiveConfig;
import dev.earshot.voice.codec.PcmFormat;
import dev.earshot.voice.connection.VoiceConnectionConfig;
import dev.earshot.voice.connection.VoiceSessionInfo;
import dev.earshot.voice.javaapi.EarshotVoice;
import dev.earshot.voice.javaapi.JavaVoiceConnection;
import dev.earshot.voice.javaapi.Sinks;
import dev.earshot.voice.testkit.MemberScript;
import dev.earshot.voice.testkit.ScriptedMember;
import dev.earshot.voice.testkit.TestServerConfig;
import dev.earshot.voice.testkit.VoiceGrant;
import dev.earshot.voice.testkit.VoiceTestServer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A Java bot publishes a DAVE channel to a real Kafka broker and a Java worker records it from there: configured with
 * the builders and {@link Duration}s, the publisher's sink given to {@link JavaVoiceConnection#listen}, the worker's
 * per-session sink a voice-java-api {@code VoiceSink}. The worker's per-user WAV files equal the bot's own, byte for
 * byte, and the connection's state reached Kafka.
 */
class KafkaFromJavaTest {
    private static final long WAIT_SECONDS = 60;

    @Test
    void aJavaBotPublishesAndAJavaWorkerRecordsTheSameFiles() throws Exception {
        TestBroker broker = TestBroker.Companion.getShared();
        String topic = TestBroker.Companion.topic("java");
        broker.createTopic(topic, 2);
        Path root = Files.createTempDirectory("earshot-kafka-java");
        Path local = Files.createDirectories(root.resolve("local"));

        KafkaPublisherConfig publisherConfig = KafkaPublisherConfig.builder(broker.getBootstrap())
                .topic(topic).linger(Duration.ofMillis(5)).deliveryTimeout(Duration.ofSeconds(60)).build();
        VoiceConnectionConfig config = VoiceConnectionConfig.builder().secure(false)
                .receive(ReceiveConfig.builder().decode(PcmFormat.STEREO_48K).tickQueueCapacity(3000).build()).build();
        try (VoiceTestServer server = VoiceTestServer.start(TestServerConfig.builder().daveProtocolVersion(1).seed(11L).build());
             VoiceKafkaPublisher publisher = new VoiceKafkaPublisher(publisherConfig)) {
            VoiceGrant grant = server.grant("111", "222", "999");
            VoiceSessionInfo info = new VoiceSessionInfo(111, 222L, 999, grant.getSessionId(), grant.getToken(), grant.getEndpoint());
            try (JavaVoiceConnection bot = EarshotVoice.connect(info, config).get(WAIT_SECONDS, TimeUnit.SECONDS)) {
                // Both sinks join the connection's default recording: same first and last tick.
                bot.listen(Sinks.perUserWav(local));
                bot.listen(publisher.voiceSink(bot, 111, 222));
                ScriptedMember first = server.channel("111", "222").addMember("4",
                        MemberScript.builder().awaitDave().tone(300, Duration.ofMillis(600)).pause(Duration.ofMillis(400))
                                .tone(350, Duration.ofMillis(400)).leave().build());
                ScriptedMember second = server.channel("111", "222").addMember("5",
                        MemberScript.builder().awaitDave().pause(Duration.ofMillis(300)).tone(500, Duration.ofMillis(700)).leave().build());
                first.awaitFinished(Duration.ofSeconds(WAIT_SECONDS));
                second.awaitFinished(Duration.ofSeconds(WAIT_SECONDS));
                bot.stopListening().get(WAIT_SECONDS, TimeUnit.SECONDS);
            }
            assertTrue(publisher.flush(Duration.ofSeconds(30)));
            PublisherStats stats = publisher.stats();
            assertEquals(0L, stats.getLostFrames());
            assertTrue(stats.getSentFrames() > 50, stats::toString);
        }

        Path workerDir = Files.createDirectories(root.resolve("worker"));
        CompletableFuture<Long> finished = new CompletableFuture<>();
        KafkaWorkerConfig workerConfig = KafkaWorkerConfig.builder(broker.getBootstrap())
                .groupId("java-" + topic).topic(topic).commitInterval(Duration.ofMillis(200)).build();
        VoiceSinkFactory perSession = session -> Sinks.perUserWav(workerDir);
        try (VoiceKafkaWorker worker = VoiceKafkaWorker.ofVoiceSinks(workerConfig, perSession, new WorkerListener() {
            @Override
            public void onFinished(WorkerSession session, long endTick) {
                finished.complete(endTick);
            }
        }).start()) {
            finished.get(WAIT_SECONDS, TimeUnit.SECONDS);
            assertEquals(0L, worker.stats().getMalformed());
        }

        List<String> names = list(local);
        assertEquals(List.of("user-4.wav", "user-5.wav"), names);
        assertEquals(names, list(workerDir));
        for (String name : names) assertEquals(-1L, Files.mismatch(local.resolve(name), workerDir.resolve(name)), name);

        // The sink followed the connection: its state is on the session's key, in order with the audio.
        List<String> states = new ArrayList<>();
        for (ConsumerRecord<String, byte[]> r : readAll(broker.getBootstrap(), topic)) {
            var type = r.headers().lastHeader(VoiceRecords.H_TYPE);
            if (type != null && new String(type.value(), StandardCharsets.UTF_8).equals(VoiceRecords.T_CONNECTION)) {
                states.add(new String(r.value(), StandardCharsets.UTF_8));
            }
        }
        assertTrue(states.stream().anyMatch(s -> s.contains("\"connected\"")), states::toString);
    }

    @Test
    void theBuildersStartFromTheDefaultsAndCheckWhatTheyAreGiven() {
        KafkaPublisherConfig p = KafkaPublisherConfig.builder("127.0.0.1:9092").build();
        assertEquals(new KafkaPublisherConfig("127.0.0.1:9092"), p);
        assertEquals(KafkaPublisherConfig.DEFAULT_TOPIC, p.getTopic());
        assertEquals(Duration.ofSeconds(60), p.getDeliveryTimeout());
        assertEquals(Duration.ofMillis(5), p.getLinger());
        assertThrows(IllegalArgumentException.class,
                () -> KafkaPublisherConfig.builder("127.0.0.1:9092").deliveryTimeout(Duration.ofMillis(500)));
        KafkaWorkerConfig w = KafkaWorkerConfig.builder("127.0.0.1:9092").groupId("g").pollTimeout(Duration.ofMillis(50)).build();
        assertEquals("g", w.getGroupId());
        assertEquals(Duration.ofMillis(50), w.getPollTimeout());
        assertEquals(Duration.ofSeconds(1), w.getCommitInterval());
        assertThrows(IllegalArgumentException.class, () -> KafkaWorkerConfig.builder("127.0.0.1:9092").maxOpenSessions(0));
        assertFalse(p.getExtra().containsKey("acks"));
    }

    private static List<String> list(Path dir) throws Exception {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(f -> f.getFileName().toString()).sorted().toList();
        }
    }

    private static List<ConsumerRecord<String, byte[]>> readAll(String bootstrap, String topic) {
        List<ConsumerRecord<String, byte[]>> out = new ArrayList<>();
        Map<String, Object> props = Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                ConsumerConfig.GROUP_ID_CONFIG, "java-reader-" + topic, ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            int empty = 0;
            // Until two polls in a row come back empty after records came, or the deadline.
            while (System.nanoTime() < deadline && empty < 2) {
                int n = 0;
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                    out.add(r);
                    n++;
                }
                empty = (n == 0 && !out.isEmpty()) ? empty + 1 : 0;
            }
        }
        return out;
    }
}
