package dev.earshot.voice.connection

import dev.earshot.voice.VoiceReceiver
import dev.earshot.voice.connection.ConnectionDriver.Companion.MAX_MEMBERS
import dev.earshot.voice.gateway.DaveGateway
import dev.earshot.voice.gateway.GatewayCounters
import dev.earshot.voice.gateway.Inbound
import dev.earshot.voice.identity.SsrcDirectory
import dev.earshot.voice.model.VoiceEvent
import org.slf4j.LoggerFactory

/**
 * What the voice gateway's member messages do, on the driver's coroutine in arrival order: op 5 (Speaking) and op 12
 * (Video) map SSRCs to users in the receiver's directory; op 11 and op 13 keep the connection's [members] (at most
 * [MAX_MEMBERS]; more are dropped and counted in [GatewayCounters.membersDropped]) and tell DAVE who joined or left,
 * and op 13 retires the leaver's SSRCs; op 18 (flags) and op 20 (platform) become events. Any other message is the
 * driver's and is left alone here.
 */
internal fun applyMemberMessage(
    message: Inbound,
    receiver: VoiceReceiver,
    members: MutableSet<Long>,
    counters: GatewayCounters,
    dave: DaveGateway,
) {
    when (message) {
        is Inbound.Speaking -> {
            val owner = receiver.ssrcs.userOf(message.ssrc)
            if (owner != SsrcDirectory.UNKNOWN && owner != message.userId) receiver.forgetSsrc(message.ssrc)
            receiver.ssrcs.map(message.ssrc, message.userId)
            receiver.publish(VoiceEvent.SpeakingStateChanged(message.userId, message.ssrc, message.flags))
        }
        is Inbound.ClientsConnect -> {
            // Bounded: a peer must not grow this set without limit (ids beyond MAX_MEMBERS are dropped and counted).
            val accepted = ArrayList<Long>(minOf(message.userIds.size, MAX_MEMBERS))
            var dropped = 0
            for (user in message.userIds) {
                if (user !in members && members.size >= MAX_MEMBERS) {
                    dropped++
                    continue
                }
                accepted += user
                if (members.add(user)) receiver.publish(VoiceEvent.MemberConnected(user))
            }
            if (dropped > 0) {
                counters.membersDropped.addAndGet(dropped.toLong())
                log.debug("voice gateway: {} member ids beyond the limit of {} dropped", dropped, MAX_MEMBERS)
            }
            dave.onMembers(accepted, emptyList())
        }
        is Inbound.ClientDisconnect -> {
            dave.onMembers(emptyList(), listOf(message.userId))
            members.remove(message.userId)
            // The leaver's buffered and in-flight audio plays out before its state goes.
            receiver.ssrcs.ssrcsOf(message.userId).forEach(receiver::retireSsrc)
            receiver.publish(VoiceEvent.MemberDisconnected(message.userId))
        }
        is Inbound.Video -> {
            if (message.audioSsrc != 0L) receiver.ssrcs.map(message.audioSsrc, message.userId)
            receiver.publish(VoiceEvent.MemberVideo(message.userId, message.audioSsrc, message.videoSsrc))
        }
        is Inbound.ClientFlags -> receiver.publish(VoiceEvent.MemberFlags(message.userId, message.flags))
        is Inbound.ClientPlatform -> receiver.publish(VoiceEvent.MemberPlatform(message.userId, message.platform))
        else -> Unit
    }
}

private val log = LoggerFactory.getLogger(ConnectionDriver::class.java)
