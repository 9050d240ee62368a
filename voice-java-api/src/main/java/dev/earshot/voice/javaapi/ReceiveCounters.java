package dev.earshot.voice.javaapi;

import dev.earshot.voice.model.ReceiveStats;

/**
 * A snapshot of a receiver's counters since it started; every received packet is counted once in one of them, so
 * problems show up as numbers. The meanings are those of voice-core's {@code ReceiveStats}.
 */
public final class ReceiveCounters {
    private final ReceiveStats core;

    ReceiveCounters(ReceiveStats core) {
        this.core = core;
    }

    /** The {@code datagrams} counter. */
    public long datagrams() {
        return core.getDatagrams();
    }

    /** The {@code rtpAudio} counter. */
    public long rtpAudio() {
        return core.getRtpAudio();
    }

    /** The {@code rtcp} counter. */
    public long rtcp() {
        return core.getRtcp();
    }

    /** The {@code discovery} counter. */
    public long discovery() {
        return core.getDiscovery();
    }

    /** The {@code keepalive} counter. */
    public long keepalive() {
        return core.getKeepalive();
    }

    /** The {@code otherPayload} counter. */
    public long otherPayload() {
        return core.getOtherPayload();
    }

    /** The {@code malformed} counter. */
    public long malformed() {
        return core.getMalformed();
    }

    /** The {@code noKey} counter. */
    public long noKey() {
        return core.getNoKey();
    }

    /** The {@code authFailures} counter. */
    public long authFailures() {
        return core.getAuthFailures();
    }

    /** The {@code malformedAudio} counter. */
    public long malformedAudio() {
        return core.getMalformedAudio();
    }

    /** The {@code decrypted} counter. */
    public long decrypted() {
        return core.getDecrypted();
    }

    /** The {@code rtcpAuthFailures} counter. */
    public long rtcpAuthFailures() {
        return core.getRtcpAuthFailures();
    }

    /** The {@code heldUnknownSsrc} counter. */
    public long heldUnknownSsrc() {
        return core.getHeldUnknownSsrc();
    }

    /** The {@code droppedUnknownSsrc} counter. */
    public long droppedUnknownSsrc() {
        return core.getDroppedUnknownSsrc();
    }

    /** The {@code e2eeFailures} counter. */
    public long e2eeFailures() {
        return core.getE2eeFailures();
    }

    /** The {@code ssrcLimitDrops} counter. */
    public long ssrcLimitDrops() {
        return core.getSsrcLimitDrops();
    }

    /** The {@code late} counter. */
    public long late() {
        return core.getLate();
    }

    /** The {@code duplicates} counter. */
    public long duplicates() {
        return core.getDuplicates();
    }

    /** The {@code lost} counter. */
    public long lost() {
        return core.getLost();
    }

    /** The {@code concealed} counter. */
    public long concealed() {
        return core.getConcealed();
    }

    /** The {@code fecRecovered} counter. */
    public long fecRecovered() {
        return core.getFecRecovered();
    }

    /** The {@code decoded} counter. */
    public long decoded() {
        return core.getDecoded();
    }

    /** The {@code decodeErrors} counter. */
    public long decodeErrors() {
        return core.getDecodeErrors();
    }

    /** The {@code silenceFrames} counter. */
    public long silenceFrames() {
        return core.getSilenceFrames();
    }

    /** The {@code resyncs} counter. */
    public long resyncs() {
        return core.getResyncs();
    }

    /** The {@code ticks} counter. */
    public long ticks() {
        return core.getTicks();
    }

    /** The {@code lateTicks} counter. */
    public long lateTicks() {
        return core.getLateTicks();
    }

    /** The {@code droppedDatagrams} counter. */
    public long droppedDatagrams() {
        return core.getDroppedDatagrams();
    }

    /** The {@code droppedTicks} counter. */
    public long droppedTicks() {
        return core.getDroppedTicks();
    }

    @Override
    public String toString() {
        return core.toString();
    }
}
