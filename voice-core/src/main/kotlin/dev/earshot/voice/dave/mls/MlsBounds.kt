package dev.earshot.voice.dave.mls

/**
 * Checks every length declared in an MLS message against the bytes actually present, before the message reaches
 * BouncyCastle. bcmls 1.84 allocates an opaque field's declared length before reading it (`new byte[n]`, up to
 * 1 GiB for a 4-byte varint), so an 8-byte op 25 could make it allocate 1 GiB and fail, at the cost of a full GC
 * each time. This walker follows the TLS presentation of RFC 9420 §6-12 for exactly the structures that arrive from
 * the gateway (ExternalSender, MLSMessage with PublicMessage/PrivateMessage/Welcome/GroupInfo/KeyPackage, bare
 * Welcome) down to every vector, including the bodies of the extensions BouncyCastle parses (application_id,
 * ratchet_tree, required_capabilities, external_pub, external_senders). It allocates nothing per byte, and nesting
 * is capped at [MAX_DEPTH] vectors: an extension may hold a ratchet tree whose leaves hold extensions again, so
 * without a cap a hostile message could recurse as deep as its length allows.
 *
 * It only bounds lengths; it decides nothing about validity beyond refusing enum values BouncyCastle does not know
 * (it could not tell what follows them). Bytes BouncyCastle decrypts first (a Welcome's GroupSecrets and GroupInfo)
 * are only reachable by a sender holding the keys, and are bounded by the ciphertext that carries them.
 */
internal object MlsBounds {
    /** op 25: `ExternalSender`. */
    fun checkExternalSender(bytes: ByteArray) = walk(bytes, "ExternalSender") { externalSender() }

    /** One `MLSMessage` filling [bytes]. */
    fun checkMessage(bytes: ByteArray) = walk(bytes, "MLSMessage") { message() }

    /** The body of `MLSMessage messages<V>` (op 27 append): messages back to back. */
    fun checkMessages(bytes: ByteArray) = walk(bytes, "MLSMessage list") { while (remaining > 0) message() }

    /** op 30: a bare `Welcome`. */
    fun checkWelcome(bytes: ByteArray) = walk(bytes, "Welcome") { welcome() }

    /** A bare `KeyPackage`. */
    fun checkKeyPackage(bytes: ByteArray) = walk(bytes, "KeyPackage") { keyPackage() }

    /** Valid DAVE messages nest vectors about 8 deep (a welcome's tree, a leaf's extensions); 32 leaves room. */
    private const val MAX_DEPTH = 32

    private inline fun walk(bytes: ByteArray, what: String, block: Walker.() -> Unit) {
        val w = Walker(bytes, 0, bytes.size, what, 0)
        w.block()
        if (w.remaining != 0) throw DaveMlsException("$what: ${w.remaining} trailing bytes")
    }

    private class Walker(private val b: ByteArray, var pos: Int, private val end: Int, private val what: String, private val depth: Int) {
        val remaining: Int get() = end - pos

        init {
            if (depth > MAX_DEPTH) throw DaveMlsException("$what: nested more than $MAX_DEPTH vectors deep")
        }

        private fun fail(reason: String): Nothing = throw DaveMlsException("$what: $reason at byte $pos")

        private fun skip(n: Int) {
            if (n < 0 || n > remaining) fail("$n bytes declared, $remaining present")
            pos += n
        }

        private fun u8(): Int {
            if (remaining < 1) fail("truncated")
            return b[pos++].toInt() and 0xFF
        }

        private fun u16(): Int = (u8() shl 8) or u8()

        /** RFC 9420 §2.1.2 varint (1, 2 or 4 bytes), checked against the bytes left. */
        private fun length(): Int {
            val first = u8()
            val n = when (first ushr 6) {
                0 -> first
                1 -> ((first and 0x3F) shl 8) or u8()
                2 -> {
                    var v = first and 0x3F
                    repeat(3) { v = (v shl 8) or u8() }
                    v
                }
                else -> fail("invalid varint prefix")
            }
            if (n > remaining) fail("vector of $n bytes declared, $remaining present")
            return n
        }

        private fun opaque() = skip(length())

        /** A vector whose items are read by [item] until its declared length is used up exactly. */
        private inline fun vector(item: Walker.() -> Unit) {
            val n = length()
            val inner = Walker(b, pos, pos + n, what, depth + 1)
            while (inner.remaining > 0) inner.item()
            pos += n
        }

        private inline fun optional(item: Walker.() -> Unit) {
            when (u8()) {
                0 -> Unit
                1 -> item()
                else -> fail("invalid optional flag")
            }
        }

        fun externalSender() {
            opaque() // signature_key
            credential()
        }

        private fun credential() {
            when (u16()) {
                1 -> opaque() // basic: identity
                2 -> vector { opaque() } // x509: certificates
                else -> fail("unknown credential type")
            }
        }

        private fun capabilities() {
            repeat(5) { vector { skip(2) } } // versions, cipher_suites, extensions, proposals, credentials
        }

        private fun extensions() = vector { extension() }

        private fun extension() {
            val type = u16()
            val n = length()
            val body = Walker(b, pos, pos + n, what, depth + 1)
            when (type) {
                1, 4 -> body.opaque() // application_id, external_pub
                2 -> body.vector { optional { node() } } // ratchet_tree
                3 -> repeat(3) { body.vector { skip(2) } } // required_capabilities
                5 -> body.vector { externalSender() } // external_senders
                else -> body.skip(n) // opaque to BouncyCastle
            }
            if (body.remaining != 0) fail("extension $type has ${body.remaining} trailing bytes")
            pos += n
        }

        private fun leafNode() {
            opaque() // encryption_key
            opaque() // signature_key
            credential()
            capabilities()
            when (u8()) {
                1 -> skip(16) // key_package: lifetime
                2 -> Unit // update
                3 -> opaque() // commit: parent_hash
                else -> fail("unknown leaf node source")
            }
            extensions()
            opaque() // signature
        }

        fun keyPackage() {
            skip(4) // version, cipher_suite
            opaque() // init_key
            leafNode()
            extensions()
            opaque() // signature
        }

        private fun node() {
            when (u8()) {
                1 -> leafNode()
                2 -> { // parent: encryption_key, parent_hash, unmerged_leaves
                    opaque()
                    opaque()
                    vector { skip(4) }
                }
                else -> fail("unknown node type")
            }
        }

        private fun hpkeCiphertext() {
            opaque() // kem_output
            opaque() // ciphertext
        }

        private fun proposal() {
            when (u16()) {
                1 -> keyPackage() // add
                2 -> leafNode() // update
                3 -> skip(4) // remove: leaf index
                4 -> { // psk: PreSharedKeyID
                    when (u8()) {
                        1 -> opaque() // external: psk_id
                        2 -> { // resumption: usage, group id, epoch
                            skip(1)
                            opaque()
                            skip(8)
                        }
                        else -> fail("unknown PSK type")
                    }
                    opaque() // psk_nonce
                }
                5 -> { // reinit: group_id, version, cipher_suite, extensions
                    opaque()
                    skip(4)
                    extensions()
                }
                6 -> opaque() // external_init: kem_output
                7 -> extensions() // group_context_extensions
                else -> fail("unknown proposal type")
            }
        }

        private fun commit() {
            vector {
                when (u8()) {
                    1 -> proposal()
                    2 -> opaque() // reference
                    else -> fail("unknown proposal-or-ref type")
                }
            }
            optional {
                leafNode()
                vector { // UpdatePathNode: encryption_key, encrypted_path_secret<V>
                    opaque()
                    vector { hpkeCiphertext() }
                }
            }
        }

        private fun publicMessage() {
            opaque() // group_id
            skip(8) // epoch
            val sender = u8()
            when (sender) {
                1, 2 -> skip(4) // member leaf index, external sender index
                3, 4 -> Unit // new member proposal / commit
                else -> fail("unknown sender type")
            }
            opaque() // authenticated_data
            val contentType = u8()
            when (contentType) {
                1 -> opaque() // application data
                2 -> proposal()
                3 -> commit()
                else -> fail("unknown content type")
            }
            opaque() // signature
            if (contentType == 3) opaque() // confirmation_tag
            if (sender == 1) opaque() // membership_tag
        }

        fun welcome() {
            skip(2) // cipher_suite
            vector { // EncryptedGroupSecrets: new_member (KeyPackageRef), encrypted_group_secrets
                opaque()
                hpkeCiphertext()
            }
            opaque() // encrypted_group_info
        }

        private fun groupInfo() {
            skip(4) // GroupContext: version, cipher_suite
            opaque() // group_id
            skip(8) // epoch
            opaque() // tree_hash
            opaque() // confirmed_transcript_hash
            extensions() // group context extensions
            extensions() // group info extensions
            opaque() // confirmation_tag
            skip(4) // signer
            opaque() // signature
        }

        fun message() {
            skip(2) // version
            when (u16()) {
                1 -> publicMessage()
                2 -> { // PrivateMessage: group_id, epoch, content_type, authenticated_data, encrypted_sender_data, ciphertext
                    opaque()
                    skip(9)
                    opaque()
                    opaque()
                    opaque()
                }
                3 -> welcome()
                4 -> groupInfo()
                5 -> keyPackage()
                else -> fail("unknown wire format")
            }
        }
    }
}
