package dev.earshot.voice.jitter

import dev.earshot.voice.base.VoiceConstants.SAMPLES_PER_FRAME

/**
 * The reorder and playout state machine for one SSRC: a pure core with no clock, no coroutines and no locks.
 *
 * Packets go in with [insert] keyed by *unwrapped* (64-bit, monotonic) sequence number and RTP timestamp; the
 * receive clock pulls playout decisions with [next] once per 20 ms tick (possibly several times per tick when
 * packets are shorter than a tick). Storage is a fixed ring of [capacity] slots indexed by `seq % capacity`, so
 * insert and lookup are O(1) and memory is bounded whatever arrives.
 *
 * ## Talk spurts and timing
 * A talk spurt starts when a packet arrives while the buffer is [State.IDLE]. Its playout tick comes from an
 * *anchor* (an RTP timestamp paired with a tick), chosen at the first [next] after the spurt's first packet arrived
 * (so that every packet read in the same batch, e.g. after a stall, is known by then). Later spurts are placed by
 * their RTP timestamp relative to that anchor, so the silence between two spurts keeps its real length and tracks
 * line up with the sender's timing. Where a spurt *should* play is the *desired* tick:
 * - without a [placer]: the tick the spurt's first packet arrived in plus [delayTicks]. The anchor is kept unless
 *   the spurt would then play in the past or more than [maxEarlyTicks] after the desired tick;
 * - with a [placer]: [PlayoutPlacer.desiredTick] (the speaker's delay after its fastest recent packet). A spurt that would
 *   play before the desired tick is moved to it (the delay grows); one that would play later is moved one tick
 *   earlier (the delay shrinks by at most 20 ms per spurt boundary, so a pause loses at most one tick); more than
 *   [maxEarlyTicks] later is implausible (the sender's timestamps jumped) and the spurt is re-anchored.
 *
 * Mid-spurt the delay only grows (if [stretch]), and only where concealment plays anyway: when the next packet is
 * not there and the placer wants the current audio played later than now, the buffer answers [Step.STRETCH] (conceal one tick without
 * moving on) instead of giving up the slot, so the missing packet can still play when it comes. Nothing is ever
 * dropped or skipped to shrink the delay.
 *
 * A spurt ends ([Step.SPURT_END]) when the buffer runs dry right after an Opus silence frame (`F8 FF FE`), or after
 * [maxUnderrunTicks] ticks of concealment with nothing to play (the sender went quiet without silence frames).
 * Timestamp jumps *inside* a buffered spurt are played as silence ([Step.GAP]) up to [maxGapTicks]; a longer jump
 * ends the spurt there ([Step.SPURT_END]) and the packet after it starts a new one, placed by its timestamp like any
 * spurt (an implausible position is re-anchored). Without that bound a peer's timestamp jump of up to 2^31 samples
 * would be played as half a day of silence, keeping the speaker busy (never evicted, never drained). Jumps of a
 * packet not buffered yet surface as underruns, then a spurt end, then a new spurt placed by its timestamp.
 *
 * ## Loss, lateness, floods
 * - A missing packet with later ones already buffered is [Step.MISSING]; [fecItem] then holds the following packet
 *   (still owned by the buffer) so the caller can recover the lost frame from its in-band FEC. This holds for the
 *   last packet of a burst too, also when the burst outlasted [maxUnderrunTicks] and ended the spurt: a spurt that
 *   resumes the same stream without a pause starts one slot early, on the lost packet before it.
 * - A packet older than the playout point is late and refused; one already buffered is a duplicate.
 * - A packet `capacity` or more ahead of the playout point, or [farLateResyncCount] consecutive packets far behind it,
 *   means the stream jumped: everything buffered is released and playout restarts at the new packet ([Resync]).
 *
 * Items handed back through [next] ([item]) or through the [release] callback (flushed, late, duplicate) are owned by
 * the caller again; the buffer never touches them afterwards.
 *
 * @param capacity ring slots (packets); default 64 = 1.28 s of 20 ms packets.
 * @param delayTicks fixed playout delay in 20 ms ticks added to a spurt's first arrival when (re)anchoring without a
 *   [placer]; default 3 (60 ms).
 * @param maxEarlyTicks how far beyond the desired tick a spurt may be scheduled before the anchor is reset; default 3.
 * @param maxUnderrunTicks ticks of concealment with an empty buffer before a spurt is declared over; default 3 (60 ms).
 * @param farLateResyncCount consecutive far-behind packets that trigger a resync; default 4.
 * @param placer where spurts should play (a delay estimate), or null for [delayTicks] after the first arrival;
 *   default null.
 * @param stretch whether the delay may grow mid-spurt by [Step.STRETCH] (with a [placer] only); default true.
 * @param maxGapTicks the longest timestamp jump inside a buffered spurt played as silence, in ticks; default 50 (1 s).
 * @param maxStretchTicks at most this many [Step.STRETCH]es per spurt (the placer's delay cannot be worth more than its
 *   maximum, so more would only follow a baseline thrown off by hostile timestamps); default 25 (500 ms).
 */
public class JitterBuffer<T : Any>(
    public val capacity: Int = 64,
    public val delayTicks: Int = 3,
    public val maxEarlyTicks: Int = 3,
    public val maxUnderrunTicks: Int = 3,
    public val farLateResyncCount: Int = 4,
    public val placer: PlayoutPlacer? = null,
    public val stretch: Boolean = true,
    public val maxGapTicks: Int = 50,
    public val maxStretchTicks: Int = 25,
    private val release: (T) -> Unit = {},
) {
    init {
        require(capacity >= 2) { "capacity must be at least 2" }
        require(delayTicks >= 0 && maxEarlyTicks >= 0 && maxUnderrunTicks >= 0 && maxGapTicks >= 0 && maxStretchTicks >= 0) {
            "tick counts must not be negative"
        }
    }

    /** Where the buffer is in a talk spurt. */
    public enum class State { IDLE, FILLING, PLAYING }

    /** What [next] decided for the current slice of a tick. */
    public enum class Step {
        /** Not in a talk spurt: the speaker is silent. */
        IDLE,
        /** A spurt is waiting for its playout tick: the speaker is still silent. */
        FILLING,
        /** Play [item] ([duration] samples); the caller now owns it. */
        PACKET,
        /**
         * The packet for this slot is lost but later ones exist: conceal, or recover from [fecItem]. (A packet lost
         * right after a silence frame is played as [GAP] instead.)
         */
        MISSING,
        /** Nothing buffered mid-spurt: conceal [duration] samples (the packet may just be late). */
        UNDERRUN,
        /**
         * Play [duration] samples of silence: the sender skipped time inside the spurt (timestamp jump), or a packet
         * right after a silence frame was lost.
         */
        GAP,
        /** The spurt is over; the next packet starts a new one (reset the decoder). */
        SPURT_END,
        /**
         * The next packet is not there and the [placer] wants a longer delay: conceal one whole tick ([duration]
         * samples) without moving on, so that packet can still play next tick. The delay is one tick longer.
         */
        STRETCH,
    }

    /** Result of [insert]. */
    public enum class Insert { ACCEPTED, DUPLICATE, LATE, RESYNC }

    private val ring = PacketRing<T>(capacity)
    private val anchor = SpurtAnchor(delayTicks, maxEarlyTicks, placer)

    /** Current state. */
    public var state: State = State.IDLE
        private set

    /** Packets currently buffered. */
    public val size: Int get() = ring.size

    /** The next sequence number to play (unwrapped); meaningless until the first packet. */
    public var nextSeq: Long = 0
        private set

    /** RTP timestamp (unwrapped) of the next sample to play; meaningful while [State.PLAYING]. */
    public var playTimestamp: Long = 0
        private set

    private var started = false
    private var highestSeq = 0L
    // Lowest sequence that may still be accepted: everything below was played or concealed.
    private var floorSeq = Long.MIN_VALUE
    private var lastDuration = SAMPLES_PER_FRAME
    private var lastWasSilence = false
    private var underrunTicks = 0
    private var underrunTick = Long.MIN_VALUE
    // Slots concealed since the buffer ran dry: the sequence numbers they stand in for start at nextSeq.
    private var underrunSlots = 0L
    private var farLateStreak = 0
    private var spurtStretches = 0
    // The last spurt ended because concealment ran out (not after silence frames); dryTimestamp is the timestamp of
    // nextSeq, where the buffer ran dry.
    private var endedDry = false
    private var dryTimestamp = 0L

    // Output of the last next() call; reused so that playout allocates nothing.
    /** The packet to play after [Step.PACKET]; null otherwise. */
    public var item: T? = null
        private set
    /** After [Step.MISSING]: the buffered packet that follows the lost one (FEC source), still owned by the buffer. */
    public var fecItem: T? = null
        private set
    /**
     * Sequence number (unwrapped) of the packet played or missing in the last step; for [Step.UNDERRUN], the one
     * whose slot is being concealed (the first slot of the underrun is [nextSeq], the following ones count on).
     */
    public var stepSeq: Long = 0
        private set
    /** RTP timestamp (unwrapped) where the last step's audio starts. */
    public var stepTimestamp: Long = 0
        private set
    /** Duration in 48 kHz samples per channel covered by the last step. */
    public var duration: Int = 0
        private set
    /** Whether the packet of the last [Step.PACKET] is an Opus silence frame. */
    public var stepIsSilence: Boolean = false
        private set

    /** Packets the playout skipped as lost (concealed, recovered, or never arrived between spurts). */
    public var lost: Long = 0
        private set
    /** Packets that were buffered but whose slot had already been concealed when playout reached them. */
    public var lateDrops: Long = 0
        private set
    /** Number of times the stream jumped and playout restarted. */
    public var resyncs: Long = 0
        private set
    /** Ticks concealed by [Step.STRETCH] to grow the delay mid-spurt. */
    public var stretches: Long = 0
        private set

    /** Whether a talk spurt has been placed: [tickOf] is meaningful. */
    public val anchored: Boolean get() = anchor.hasAnchor && (state == State.PLAYING || anchor.placed)

    /**
     * Offers a packet. [seq] and [timestamp] are unwrapped; [durationSamples] is its length at 48 kHz;
     * [isSilence] marks an Opus silence frame; [arrivalTick] is the tick during which it arrived (the tick that will
     * be produced next, when the receive clock is on time). On anything but [Insert.ACCEPTED] and [Insert.RESYNC] the
     * caller still owns [packet].
     */
    public fun insert(seq: Long, timestamp: Long, durationSamples: Int, isSilence: Boolean, packet: T, arrivalTick: Long): Insert {
        var result = Insert.ACCEPTED
        if (!started) {
            started = true
            nextSeq = seq
            highestSeq = seq
        } else if (seq < nextSeq) {
            if (state == State.FILLING && seq >= floorSeq && highestSeq - seq < capacity) {
                // Reordered ahead of the spurt's first arrival, nothing played from it yet: start earlier.
                nextSeq = seq
            } else if (nextSeq - seq >= capacity && ++farLateStreak >= farLateResyncCount) {
                // Far behind, several in a row: the sender restarted its sequence.
                resync(seq)
                result = Insert.RESYNC
            } else {
                return Insert.LATE
            }
        } else if (seq - nextSeq >= capacity) {
            resync(seq)
            result = Insert.RESYNC
        }
        if (result == Insert.ACCEPTED) farLateStreak = 0
        if (seq > highestSeq || size == 0) highestSeq = seq
        val slot = ring.slotOf(seq)
        if (ring.items[slot] != null) {
            if (ring.seqs[slot] == seq) return Insert.DUPLICATE
            // Cannot happen while every stored seq is in [nextSeq, nextSeq + capacity); kept defensive.
            release(ring.take(slot))
        }
        ring.put(slot, seq, timestamp, if (durationSamples > 0) durationSamples else SAMPLES_PER_FRAME, isSilence, packet)
        if (state == State.IDLE) {
            state = State.FILLING
            anchor.placed = false
            anchor.spurtArrivalTick = arrivalTick
        }
        return result
    }

    /**
     * Decides the next slice of playout for tick [nowTick]; [wanted] is how many 48 kHz samples the tick still
     * needs (used to size silence and concealment). Read the outputs ([item], [fecItem], [duration], ...) right after.
     */
    public fun next(nowTick: Long, wanted: Int = SAMPLES_PER_FRAME): Step {
        item = null
        fecItem = null
        stepIsSilence = false
        duration = 0
        when (state) {
            State.IDLE -> return Step.IDLE
            State.FILLING -> {
                val first = ring.lowestSlot(nextSeq)
                if (first < 0) { state = State.IDLE; return Step.IDLE }
                var ts = ring.timestamps[first]
                var seq = ring.seqs[first]
                if (!anchor.placed) anchor.place(ts, nowTick)
                if (bridgesBurst(seq, ts) && nowTick <= tickOf(ts) - 1) {
                    // Start one slot early, on the lost packet before this one: it plays as MISSING with this packet
                    // as its FEC source.
                    seq--
                    ts -= lastDuration
                }
                if (nowTick < tickOf(ts)) return Step.FILLING
                // Anything between the end of the last spurt and this one was sent and never arrived.
                val skipped = seq - nextSeq
                if (skipped > 0) lost += skipped
                nextSeq = seq
                playTimestamp = ts
                endedDry = false
                state = State.PLAYING
                underrunTicks = 0
                underrunSlots = 0
                spurtStretches = 0
            }
            State.PLAYING -> Unit
        }
        return playStep(nowTick, wanted)
    }

    private fun playStep(nowTick: Long, wanted: Int): Step {
        while (true) {
            val slot = ring.slotOf(nextSeq)
            if (ring.items[slot] != null && ring.seqs[slot] == nextSeq) {
                val ts = ring.timestamps[slot]
                val dur = ring.durations[slot]
                if (ts > playTimestamp) {
                    if (ts - playTimestamp > maxGapTicks.toLong() * SAMPLES_PER_FRAME) return restartSpurt(nowTick)
                    // Timestamp jump inside the spurt: the sender paused; play silence up to the packet.
                    duration = minOf(wanted, (ts - playTimestamp).coerceAtMost(Int.MAX_VALUE.toLong()).toInt())
                    stepTimestamp = playTimestamp
                    playTimestamp += duration
                    return Step.GAP
                }
                if (ts + dur / 2 <= playTimestamp) {
                    // Its slot was already concealed during an underrun: too late to play.
                    release(ring.take(slot))
                    nextSeq++
                    floorSeq = nextSeq
                    lateDrops++
                    continue
                }
                item = ring.take(slot)
                stepSeq = nextSeq
                stepTimestamp = ts
                duration = dur
                stepIsSilence = ring.silence[slot]
                lastWasSilence = stepIsSilence
                lastDuration = dur
                playTimestamp = ts + dur
                nextSeq++
                floorSeq = nextSeq
                underrunTicks = 0
                underrunSlots = 0
                return Step.PACKET
            }
            // The next packet is not here: concealment plays anyway, so this is where the delay may grow for free.
            if (wantsStretch(nowTick, wanted)) return stretch(wanted)
            if (size > 0) {
                // Slots already concealed during an underrun belong to some of the missing packets: skip those.
                val first = ring.lowestSlot(nextSeq)
                val ahead = ring.timestamps[first] - playTimestamp
                val slotsLeft = if (ahead > 0) (ahead + lastDuration - 1) / lastDuration else 0L
                val skip = (ring.seqs[first] - nextSeq) - slotsLeft
                if (skip > 0) {
                    lost += skip
                    nextSeq += skip
                    floorSeq = nextSeq
                    continue
                }
                // Lost among the silence frames that end a spurt: it was silence too, so play it as silence rather
                // than concealing (which would extrapolate the speech before it).
                if (lastWasSilence) return skipLostSlot(Step.GAP)
                val following = ring.slotOf(nextSeq + 1)
                @Suppress("UNCHECKED_CAST")
                fecItem = if (ring.items[following] != null && ring.seqs[following] == nextSeq + 1) ring.items[following] as T else null
                underrunTicks = 0
                lastWasSilence = false
                return skipLostSlot(Step.MISSING)
            }
            // Dry. After silence frames the sender has simply stopped; otherwise conceal for a while.
            if (lastWasSilence) return endSpurt()
            if (underrunTick != nowTick) {
                underrunTick = nowTick
                if (++underrunTicks > maxUnderrunTicks) {
                    endedDry = true
                    return endSpurt()
                }
            }
            if (underrunSlots == 0L) dryTimestamp = playTimestamp
            stepSeq = nextSeq + underrunSlots++
            stepTimestamp = playTimestamp
            duration = wanted
            playTimestamp += wanted
            return Step.UNDERRUN
        }
    }

    /** Moves playout past the lost packet at [nextSeq] (one slot of [lastDuration]) and reports it as [step]. */
    private fun skipLostSlot(step: Step): Step {
        stepSeq = nextSeq
        stepTimestamp = playTimestamp
        duration = lastDuration
        playTimestamp += lastDuration
        nextSeq++
        floorSeq = nextSeq
        lost++
        underrunSlots = 0
        return step
    }

    /**
     * Whether a spurt starting at [seq] ([ts]) continues one that ended dry (concealment ran out during a burst loss)
     * without a pause: sequence and timestamp moved on together from where the buffer ran dry. Then the packet before
     * it was lost in the burst, and this one may carry it as in-band FEC.
     */
    private fun bridgesBurst(seq: Long, ts: Long): Boolean {
        if (!endedDry || seq - 1 < nextSeq) return false
        return ts - dryTimestamp == (seq - nextSeq) * lastDuration
    }

    /** Ends the spurt before the buffered packet at [nextSeq], which starts the next one (a long timestamp jump). */
    private fun restartSpurt(nowTick: Long): Step {
        state = State.FILLING
        anchor.placed = false
        anchor.spurtArrivalTick = nowTick
        underrunTicks = 0
        underrunSlots = 0
        lastWasSilence = false
        endedDry = false
        return Step.SPURT_END
    }

    private fun endSpurt(): Step {
        // Only reached with an empty buffer: the next insert starts a new spurt.
        state = State.IDLE
        underrunTicks = 0
        underrunSlots = 0
        lastWasSilence = false
        return Step.SPURT_END
    }

    /** Whether to grow the delay by a [Step.STRETCH] now: only for whole ticks, never inside closing silence. */
    private fun wantsStretch(nowTick: Long, wanted: Int): Boolean {
        val p = placer ?: return false
        return stretch && wanted == SAMPLES_PER_FRAME && !lastWasSilence && spurtStretches < maxStretchTicks &&
            p.desiredTick(playTimestamp) > nowTick
    }

    private fun stretch(wanted: Int): Step {
        // The audio at playTimestamp now plays one tick later: move the anchor with it.
        anchor.anchorTick++
        stretches++
        spurtStretches++
        stepSeq = nextSeq
        stepTimestamp = playTimestamp
        duration = wanted
        return Step.STRETCH
    }

    /** The tick at which RTP timestamp [ts] plays under the current anchor. */
    public fun tickOf(ts: Long): Long = anchor.tickOf(ts)

    private fun resync(seq: Long) {
        flush()
        resyncs++
        farLateStreak = 0
        nextSeq = seq
        floorSeq = Long.MIN_VALUE
        anchor.hasAnchor = false
        anchor.placed = false
        endedDry = false
        state = State.IDLE
        lastWasSilence = false
    }

    /** Releases every buffered packet and returns to [State.IDLE], keeping the anchor and sequence position. */
    public fun flush() {
        for (i in 0 until capacity) if (ring.items[i] != null) release(ring.take(i))
        if (state != State.IDLE) state = State.IDLE
    }
}
