package dev.earshot.voice.javaapi;

import dev.earshot.voice.model.ReceiveTimeline;
import dev.earshot.voice.connection.VoiceConnectionState;
import dev.earshot.voice.model.AudioFrame;
import dev.earshot.voice.model.FrameKind;
import dev.earshot.voice.model.OpusPacket;
import dev.earshot.voice.model.VoiceEvent;
import org.jspecify.annotations.Nullable;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** Conversions from voice-core's types to the facade's. */
final class Convert {
    private Convert() {
    }

    static VoiceFrame.Kind kind(FrameKind k) {
        return switch (k) {
            case DECODED -> VoiceFrame.Kind.DECODED;
            case CONCEALED -> VoiceFrame.Kind.CONCEALED;
            case FEC_RECOVERED -> VoiceFrame.Kind.FEC_RECOVERED;
            case MISSING -> VoiceFrame.Kind.MISSING;
            case SILENCE -> VoiceFrame.Kind.SILENCE;
        };
    }

    static VoicePacket packet(OpusPacket p, ReceiveTimeline timeline) {
        return new VoicePacket(p.getSsrc(), UserIds.of(p.getUserId()), p.getSequence(), p.getRtpTimestamp(), p.getTick(),
                timeline.instantOf(p.getTick()), p.getOpus());
    }

    /** The Opus packets of a frame, in order (none for a concealed slot). */
    static List<VoicePacket> packets(AudioFrame f, ReceiveTimeline timeline) {
        byte[] first = f.getOpus();
        if (first == null) return List.of();
        List<VoicePacket> out = new ArrayList<>(1 + f.getExtraOpus().size());
        long user = UserIds.of(f.getUserId());
        out.add(new VoicePacket(f.getSsrc(), user, f.getSequence(), f.getRtpTimestamp(), f.getTick(), timeline.instantOf(f.getTick()), first));
        for (byte[] extra : f.getExtraOpus()) {
            out.add(new VoicePacket(f.getSsrc(), user, f.getSequence(), f.getRtpTimestamp(), f.getTick(), timeline.instantOf(f.getTick()), extra));
        }
        return out;
    }

    /** The facade's event, or null for one Java does not get (RTCP). */
    static @Nullable ChannelEvent event(VoiceEvent e, ReceiveTimeline timeline) {
        if (e instanceof VoiceEvent.SpeakingStarted s) {
            return new ChannelEvent.SpeakingStarted(UserIds.of(s.getUserId()), s.getSsrc(), s.getTick(), timeline.instantOf(s.getTick()));
        }
        if (e instanceof VoiceEvent.SpeakingStopped s) {
            return new ChannelEvent.SpeakingStopped(UserIds.of(s.getUserId()), s.getSsrc(), s.getTick(), timeline.instantOf(s.getTick() + 1));
        }
        if (e instanceof VoiceEvent.MemberConnected m) return new ChannelEvent.MemberJoined(m.getUserId());
        if (e instanceof VoiceEvent.MemberDisconnected m) return new ChannelEvent.MemberLeft(m.getUserId());
        if (e instanceof VoiceEvent.SpeakingStateChanged s) return new ChannelEvent.SpeakingMode(s.getUserId(), s.getSsrc(), s.getFlags());
        if (e instanceof VoiceEvent.MemberVideo v) return new ChannelEvent.MemberVideo(v.getUserId(), v.getAudioSsrc(), v.getVideoSsrc());
        if (e instanceof VoiceEvent.MemberFlags f) return new ChannelEvent.MemberFlags(f.getUserId(), f.getFlags());
        if (e instanceof VoiceEvent.MemberPlatform p) return new ChannelEvent.MemberPlatform(p.getUserId(), p.getPlatform());
        if (e instanceof VoiceEvent.Stats s) return new ChannelEvent.Stats(s.getStats());
        return null;
    }

    static ConnectionState state(VoiceConnectionState s) {
        if (s instanceof VoiceConnectionState.Connected) return ConnectionState.CONNECTED;
        if (s instanceof VoiceConnectionState.Reconnecting) return ConnectionState.RECONNECTING;
        if (s instanceof VoiceConnectionState.Closed) return ConnectionState.CLOSED;
        if (s == VoiceConnectionState.WaitingForServer.INSTANCE) return ConnectionState.WAITING_FOR_SERVER;
        return ConnectionState.CONNECTING;
    }

    static ConnectionStateChange stateChange(VoiceConnectionState s) {
        Instant now = Instant.now();
        if (s instanceof VoiceConnectionState.Reconnecting r) {
            return new ConnectionStateChange(ConnectionState.RECONNECTING, r.getResuming(), r.getCloseCode(), r.getAttempt(), null, now);
        }
        Throwable cause = s instanceof VoiceConnectionState.Closed c ? c.getCause() : null;
        return new ConnectionStateChange(state(s), false, 0, 0, cause, now);
    }
}
