package dev.earshot.voice.testkit.internal

import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.put

/** Where a [DaveGroup] sends messages and asks for timers; called synchronously from the group's methods. */
internal interface DaveOutput<K> {
    /** A JSON gateway message `{op, d}` to [to]. */
    fun json(to: K, op: Int, d: JsonObject)

    /** A binary gateway message (op + payload; the sender adds the sequence number) to [to]. */
    fun binary(to: K, op: Int, payload: ByteArray)

    /** Calls [DaveGroup.timeout] with [token] after [after]. */
    fun schedule(after: Duration, token: Long)

    /** A DAVE message from [from] was dropped, for [why]. */
    fun rejected(from: K, why: String)
}

/** DAVE opcodes (docs/dave.md section 1.1). */
internal object DaveOp {
    const val PREPARE_TRANSITION = 21
    const val EXECUTE_TRANSITION = 22
    const val READY_FOR_TRANSITION = 23
    const val PREPARE_EPOCH = 24
    const val EXTERNAL_SENDER = 25
    const val KEY_PACKAGE = 26
    const val PROPOSALS = 27
    const val COMMIT_WELCOME = 28
    const val ANNOUNCE_COMMIT = 29
    const val WELCOME = 30
    const val INVALID_COMMIT_WELCOME = 31
}

/**
 * The gateway's side of one channel's DAVE group (docs/dave.md §1.3, docs/protocol.md §6): it collects key packages, proposes
 * Adds and Removes as the external sender, picks the first valid commit of each epoch, announces it (op 29) and
 * welcomes the joiners (op 30), then executes the transition (op 22) once everyone involved is ready (op 23) or after
 * [readyTimeout]. Members are keyed by [K] (a session in the server, a fake in tests). Not thread-safe: the server
 * calls it under its lock.
 *
 * One membership change runs at a time (a "round"): proposals for the current epoch go to every member, the first
 * valid commit wins, and changes that arrive meanwhile wait for the next round. Leaf indices are tracked as RFC 9420
 * assigns them (removes blank leaves, each add takes the leftmost blank leaf, in the commit's order), so Removes name
 * the right leaf. When only one member would be left, it is reset instead (op 24 epoch 1 + op 21 transition 0).
 */
internal class DaveGroup<K : Any>(
    private val groupId: ByteArray,
    private val out: DaveOutput<K>,
    private val readyTimeout: Duration = 2.seconds,
    private val commitTimeout: Duration = 5.seconds,
) {
    private val sender = DaveExternalSender()

    private class Client(val userId: String) {
        var keyPackage: ParsedKeyPackage? = null
        var leaf = -1
    }

    private class Add<K>(val member: K, val keyPackage: ParsedKeyPackage, val proposal: SignedProposal)

    /** One membership change (or a downgrade) from proposals to execution. */
    private class Round<K>(
        val epoch: Long,
        /** The members asked to commit; they get op 29. */
        val recipients: MutableSet<K>,
        val removes: List<Int>,
        val removeProposals: List<SignedProposal>,
        val adds: List<Add<K>>,
        /** A downgrade (op 21 version 0) rather than an MLS change. */
        val downgrade: Boolean,
    ) {
        var committed = downgrade
        var transitionId = 0
        val awaiting = HashSet<K>()
        val participants = LinkedHashSet<K>()
        /** Joiners that left or reset before their welcome. */
        val droppedJoiners = HashSet<K>()
        var timer = 0L
    }

    private val clients = LinkedHashMap<K, Client>()

    /** Leaf index -> member; null is a blank leaf. A leaf in [owedRemoves] still needs its Remove committed. */
    private val roster = ArrayList<K?>()
    private val owedRemoves = sortedSetOf<Int>()
    private var round: Round<K>? = null
    private var nextTransition = 1
    private var timerTokens = 0L

    /** The epoch of the group (0 for a lone member's pending group); meaningless while [memberCount] is 0. */
    var epoch: Long = 0
        private set

    /** False while the channel runs transport-only (protocol version 0). */
    var active: Boolean = true
        private set

    /** DAVE messages rejected as malformed, out of place or invalid (commits that lost a race are not counted). */
    var rejected: Long = 0
        private set

    /** Transitions executed (op 22 sent). */
    var executed: Long = 0
        private set

    /** The op 25 payload. */
    val externalSenderPackage: ByteArray get() = sender.packageBytes

    /** Members with a leaf in the group now (a lone member's pending group counts). */
    val memberCount: Int get() = liveLeaves().size

    /** The member at each leaf, in leaf order (blank and departed leaves left out). */
    fun members(): List<K> = liveLeaves().map { roster[it]!! }

    /** The leaf of [k], or -1 when it is not in the group. */
    fun leafOf(k: K): Int = clients[k]?.leaf ?: -1

    /** True while a membership change or downgrade is under way. */
    val busy: Boolean get() = round != null

    /** Registers a client that negotiated DAVE (or could, once the channel upgrades); sends op 25 when [active]. */
    fun join(k: K, userId: String) {
        if (k in clients) return
        clients[k] = Client(userId)
        if (active) out.binary(k, DaveOp.EXTERNAL_SENDER, sender.packageBytes)
    }

    /** Op 26. */
    fun keyPackage(k: K, payload: ByteArray) {
        val c = clients[k]
        val parsed = DaveMls.parseKeyPackage(payload)
        val why = when {
            c == null -> "key package from a client that did not negotiate DAVE"
            !active -> "key package while the channel is transport-only"
            parsed == null -> "malformed key package"
            parsed.userId != c.userId -> "key package for user ${parsed.userId}"
            c.leaf >= 0 -> "key package from a member of the group"
            else -> null
        }
        if (why != null) {
            reject(k, why)
            return
        }
        c!!.keyPackage = parsed
        advance()
    }

    /** Op 28: the first valid commit for the current round wins; later ones are ignored. */
    fun commitWelcome(k: K, payload: ByteArray) {
        val r = round
        val c = clients[k]
        val parsed = DaveMls.parseCommit(payload)
        if (c == null || r == null || r.downgrade || r.committed || k !in r.recipients) {
            // A commit that lost the race (for an epoch already decided) is ignored, as Discord does; it may well
            // arrive after its round ended.
            if (c != null && parsed != null && parsed.groupId.contentEquals(groupId) && parsed.epoch < epoch) return
            reject(k, "commit without proposals for it")
            return
        }
        val refs = parsed?.refs?.map { it.toHex() }
        val expected = (r.removeProposals + r.adds.map { it.proposal }).map { it.ref.toHex() }
        val why = when {
            parsed == null -> "malformed commit"
            refs == null -> "commit with inline proposals"
            !parsed.groupId.contentEquals(groupId) -> "commit for another group"
            parsed.epoch != r.epoch -> "commit for epoch ${parsed.epoch}, not ${r.epoch}"
            parsed.senderLeaf != c.leaf -> "commit from leaf ${parsed.senderLeaf}, not the sender's ${c.leaf}"
            refs.size != expected.size || refs.toSet() != expected.toSet() -> "commit not covering exactly the proposals"
            (parsed.welcome != null) != r.adds.isNotEmpty() -> "welcome ${if (parsed.welcome == null) "missing" else "unexpected"}"
            else -> null
        }
        if (why != null) {
            reject(k, why)
            return
        }
        apply(r, refs!!)
        r.committed = true
        r.transitionId = newTransitionId()
        val tid = byteArrayOf((r.transitionId ushr 8).toByte(), r.transitionId.toByte())
        for (m in r.recipients) {
            out.binary(m, DaveOp.ANNOUNCE_COMMIT, tid + parsed!!.commit)
            r.participants += m
        }
        for (add in r.adds) {
            if ((clients[add.member]?.leaf ?: -1) >= 0) {
                out.binary(add.member, DaveOp.WELCOME, tid + parsed.welcome!!)
                r.participants += add.member
            }
        }
        r.awaiting += r.participants
        r.timer = schedule(readyTimeout)
    }

    /** Op 23. */
    fun ready(k: K, transitionId: Int) {
        val r = round
        if (r == null || !r.committed || r.transitionId != transitionId || k !in r.participants) {
            // A ready for transition 0 or a finished transition is harmless; only count what cannot be right.
            if (k !in clients) reject(k, "ready from a client that did not negotiate DAVE")
            return
        }
        r.awaiting -= k
        if (r.awaiting.isEmpty()) execute(r)
    }

    /** Op 31: [k] could not process a commit or welcome; it resets, and is removed and re-added. */
    fun invalid(k: K, transitionId: Int) {
        val c = clients[k] ?: return reject(k, "invalid commit/welcome report from a client that did not negotiate DAVE")
        if (c.leaf >= 0) {
            owedRemoves += c.leaf
            c.leaf = -1
        }
        c.keyPackage = null
        dropFromRound(k)
        advance()
    }

    /** [k] left the channel. */
    fun leave(k: K) {
        val c = clients.remove(k) ?: return
        if (c.leaf >= 0) owedRemoves += c.leaf
        dropFromRound(k)
        advance()
    }

    /** Timer [token] fired. */
    fun timeout(token: Long) {
        val r = round ?: return
        if (r.timer != token) return
        if (r.committed) execute(r) else resetAll()
    }

    /**
     * Switches the channel between DAVE ([on]) and transport-only. Down: op 21 `protocol_version 0` to every
     * registered client, op 22 once all are ready, and the group is forgotten. Up: op 24 `epoch 1` and op 25 to every
     * registered client, which then send key packages and the group is built again.
     */
    fun setActive(on: Boolean) {
        if (on == active) return
        active = on
        clearGroup()
        if (!on) {
            if (clients.isEmpty()) return
            val r = Round<K>(0, HashSet(), emptyList(), emptyList(), emptyList(), downgrade = true)
            r.transitionId = newTransitionId()
            for (k in clients.keys) {
                out.json(k, DaveOp.PREPARE_TRANSITION, transition(r.transitionId, 0))
                r.participants += k
            }
            r.awaiting += r.participants
            r.timer = schedule(readyTimeout)
            round = r
        } else {
            for (k in clients.keys) {
                out.json(k, DaveOp.PREPARE_EPOCH, buildJsonObject { put("epoch", 1); put("protocol_version", 1) })
                out.binary(k, DaveOp.EXTERNAL_SENDER, sender.packageBytes)
            }
        }
    }

    // ---- internals ----

    private fun reject(k: K, why: String) {
        rejected++
        out.rejected(k, why)
    }

    private fun liveLeaves(): List<Int> = roster.indices.filter { roster[it] != null && it !in owedRemoves }

    /** Starts the next round when none runs and there is something to do. */
    private fun advance() {
        if (round != null || !active) return
        var live = liveLeaves()
        if (live.isEmpty()) {
            roster.clear()
            owedRemoves.clear()
            epoch = 0
            // The first member with a key package is alone: its own pending group is the group, at epoch 0.
            val first = clients.entries.firstOrNull { it.value.keyPackage != null && it.value.leaf < 0 } ?: return
            first.value.keyPackage = null
            first.value.leaf = 0
            roster += first.key
            live = listOf(0)
        }
        val adds = clients.entries.filter { it.value.keyPackage != null && it.value.leaf < 0 }
        if (owedRemoves.isEmpty() && adds.isEmpty()) return
        if (live.size == 1 && adds.isEmpty()) {
            resetSole(roster[live[0]]!!)
            return
        }
        val signedAdds = adds.map { (k, c) ->
            val kp = c.keyPackage!!
            c.keyPackage = null
            Add(k, kp, sender.add(groupId, epoch, kp.keyPackage))
        }
        val removes = owedRemoves.toList()
        val r = Round(
            epoch, live.mapTo(LinkedHashSet()) { roster[it]!! }, removes, removes.map { sender.remove(groupId, epoch, it) },
            signedAdds, downgrade = false,
        )
        round = r
        val payload = DaveMls.appendProposals(r.removeProposals.map { it.message } + signedAdds.map { it.proposal.message })
        for (m in r.recipients) out.binary(m, DaveOp.PROPOSALS, payload)
        r.timer = schedule(commitTimeout)
    }

    /** Applies the winning commit to the roster: removes, then adds in the commit's reference order. */
    private fun apply(r: Round<K>, refs: List<String>) {
        for (leaf in r.removes) {
            if (leaf < roster.size) roster[leaf] = null
            owedRemoves -= leaf
        }
        while (roster.isNotEmpty() && roster.last() == null) roster.removeAt(roster.size - 1)
        val addsByRef = r.adds.associateBy { it.proposal.ref.toHex() }
        for (ref in refs) {
            val add = addsByRef[ref] ?: continue
            var leaf = roster.indexOf(null)
            if (leaf < 0) {
                leaf = roster.size
                roster += add.member
            } else {
                roster[leaf] = add.member
            }
            val c = clients[add.member]
            // A joiner that left (or reset) while its Add was in flight owes a Remove now.
            if (c == null || add.member in r.droppedJoiners) owedRemoves += leaf else c.leaf = leaf
        }
        epoch = r.epoch + 1
    }

    private fun dropFromRound(k: K) {
        val r = round ?: return
        r.recipients -= k
        r.awaiting -= k
        if (r.adds.any { it.member == k }) r.droppedJoiners += k
        if (!r.committed && r.recipients.isEmpty()) {
            // Nobody left to commit: give the joiners' key packages back and start over.
            for (add in r.adds) {
                val c = clients[add.member]
                if (c != null && add.member !in r.droppedJoiners && c.keyPackage == null && c.leaf < 0) c.keyPackage = add.keyPackage
            }
            endRound(r)
            return
        }
        if (r.committed && r.awaiting.isEmpty()) execute(r)
    }

    private fun execute(r: Round<K>) {
        for (m in r.participants) {
            if (m in clients) out.json(m, DaveOp.EXECUTE_TRANSITION, buildJsonObject { put("transition_id", r.transitionId) })
        }
        executed++
        endRound(r)
        advance()
    }

    private fun endRound(r: Round<K>) {
        if (round === r) round = null
    }

    /** Op 24 epoch 1 + op 21 transition 0 to the last member: it starts a new pending group (docs/dave.md §1.3 item 7). */
    private fun resetSole(k: K) {
        roster.clear()
        owedRemoves.clear()
        epoch = 0
        clients[k]?.leaf = -1
        out.json(k, DaveOp.PREPARE_EPOCH, buildJsonObject { put("epoch", 1); put("protocol_version", 1) })
        out.json(k, DaveOp.PREPARE_TRANSITION, transition(0, 1))
    }

    /** No commit came for a round: every client starts over with a new key package. */
    private fun resetAll() {
        clearGroup()
        for (k in clients.keys) out.json(k, DaveOp.PREPARE_EPOCH, buildJsonObject { put("epoch", 1); put("protocol_version", 1) })
    }

    private fun clearGroup() {
        round?.let { endRound(it) }
        roster.clear()
        owedRemoves.clear()
        epoch = 0
        for (c in clients.values) {
            c.leaf = -1
            c.keyPackage = null
        }
    }

    private fun newTransitionId(): Int {
        val id = nextTransition
        nextTransition = if (nextTransition >= 0xFFFF) 1 else nextTransition + 1
        return id
    }

    private fun schedule(after: Duration): Long {
        val token = ++timerTokens
        out.schedule(after, token)
        return token
    }

    private fun transition(id: Int, version: Int) = buildJsonObject {
        put("transition_id", id)
        put("protocol_version", version)
    }

    private fun ByteArray.toHex(): String = joinToString("") { "%02x".format(it.toInt() and 0xFF) }
}
