package dev.earshot.voice.javaapi;

import dev.earshot.voice.connection.VoiceSessionInfo;
import dev.earshot.voice.testkit.ClientSession;
import dev.earshot.voice.testkit.MemberScript;
import dev.earshot.voice.testkit.ScriptedMember;
import dev.earshot.voice.testkit.SentFrame;
import dev.earshot.voice.testkit.TestServerConfig;
import dev.earshot.voice.testkit.VoiceGrant;
import dev.earshot.voice.testkit.VoiceTestServer;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;

import static dev.earshot.voice.javaapi.TestSupport.WAIT_SECONDS;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * How a Java bot's test uses the testkit, written as a bot author would, with nothing but the testkit's and the
 * facade's Java API: start the embedded voice server, let a scripted member say a tone, connect Earshot with the
 * server's grant, check what the bot received against what the member sent, close both.
 */
class TestkitFromJavaTest {
    @Test
    void theBotReceivesExactlyTheOpusAScriptedMemberSent() throws Exception {
        Duration wait = Duration.ofSeconds(WAIT_SECONDS);
        TestServerConfig serverConfig = TestServerConfig.builder().daveProtocolVersion(0).seed(5L).build();
        ExecutorService callbacks = TestSupport.namedExecutor("bot-callbacks");
        try (VoiceTestServer server = VoiceTestServer.start(serverConfig)) {
            // What VOICE_STATE_UPDATE and VOICE_SERVER_UPDATE would give the bot.
            VoiceGrant grant = server.grant("111", "222", "999");
            VoiceSessionInfo info = new VoiceSessionInfo(111, 222L, 999, grant.getSessionId(), grant.getToken(), grant.getEndpoint());
            try (JavaVoiceConnection bot = EarshotVoice.connect(info, TestSupport.testConfig().build())
                    .get(WAIT_SECONDS, TimeUnit.SECONDS)) {
                ClientSession session = server.awaitSession("111", "999", wait);
                assertEquals(bot.ssrc(), session.getSsrc(), "the server knows the bot by the SSRC its Ready gave");

                Map<Integer, byte[]> heard = new ConcurrentHashMap<>();
                CountDownLatch speech = new CountDownLatch(25); // 500 ms of tone = 25 frames of 20 ms
                bot.addListener(new VoiceListener() {
                    @Override
                    public void onOpusPacket(VoicePacket packet) {
                        if (packet.userId() == 4L && !packet.isSilence()
                                && heard.putIfAbsent(packet.sequence(), packet.opus()) == null) speech.countDown();
                    }
                }, callbacks);

                ScriptedMember speaker = server.channel("111", "222")
                        .addMember("4", MemberScript.builder().tone(440, Duration.ofMillis(500)).leave().build());
                speaker.awaitFinished(wait);
                assertTrue(speech.await(WAIT_SECONDS, TimeUnit.SECONDS), "heard " + heard.size() + " of 25 speech packets");

                List<SentFrame> sent = speaker.getSent().stream().filter(f -> !f.isSilence()).toList();
                assertEquals(25, sent.size());
                for (SentFrame f : sent) assertArrayEquals(f.getOpus(), heard.get(f.getSequence()), "packet " + f.getSequence());
                assertEquals(25, heard.size(), "nothing but what the member sent");
            }
        } finally {
            callbacks.shutdownNow();
        }
    }
}
