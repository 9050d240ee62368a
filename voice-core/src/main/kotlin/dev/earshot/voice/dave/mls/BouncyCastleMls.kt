package dev.earshot.voice.dave.mls

import org.bouncycastle.mls.codec.AuthenticatedContent
import org.bouncycastle.mls.codec.MLSInputStream
import org.bouncycastle.mls.crypto.MlsCipherSuite

// How DAVE's MLS code calls BouncyCastle (bcmls): under one JVM-wide lock, with everything it throws turned into
// DaveMlsException, and structures decoded exactly (nothing may follow them).

/** Decodes exactly one [T] filling all of [bytes]; trailing bytes are an error. */
internal inline fun <reified T : Any> decodeExact(bytes: ByteArray, what: String): T {
    if (bytes.isEmpty()) throw DaveMlsException("empty $what")
    val list = ArrayList<T>()
    // Wrapping the bytes in one vector lets readList tell us whether anything follows the structure.
    MLSInputStream(MlsVectors.encode(bytes)).readList(list, T::class.java)
    if (list.size != 1) throw DaveMlsException("$what has trailing bytes")
    return list[0]
}

/**
 * The AuthenticatedContent of a PublicMessage: an MLSMessage is `version(2) wire_format(2) FramedContent
 * auth [membership_tag]`, so from byte 2 on it starts with the AuthenticatedContent.
 */
internal fun authenticatedContentOf(publicMessage: ByteArray): AuthenticatedContent =
    AuthenticatedContent(MLSInputStream(publicMessage.copyOfRange(2, publicMessage.size)))

/**
 * BouncyCastle's ciphersuite 2, which is also the JVM-wide lock for using it. bcmls 1.84's
 * `MlsCipherSuite.getSuite` hands every caller the same static instance, whose digest, HKDF generator, signer
 * and AEAD are stateful objects without synchronization, and its codecs (KeyPackage, Welcome, GroupInfo,
 * LeafNode...) look that instance up themselves, so no private copy can avoid it. Two DAVE groups working at
 * once (two voice connections, or a bot and the members of a test server) corrupt each other's hashes and
 * signatures: welcomes fail with "Confirmation failed to verify", proposals with "Invalid proposal". Every
 * BouncyCastle MLS call therefore runs in [guard], synchronized on this object; nothing is called back while
 * it is held.
 */
internal val BC_MLS_LOCK: MlsCipherSuite = MlsCipherSuite.getSuite(MlsCipherSuite.MLS_128_DHKEMP256_AES128GCM_SHA256_P256)

/**
 * Runs BouncyCastle code under [BC_MLS_LOCK], turning everything it throws into [DaveMlsException]. bcmls
 * 1.84 allocates a declared opaque length before checking it against the input, so network bytes are checked
 * by [MlsBounds] first; an OutOfMemoryError that still comes from such an allocation is reported as bad input.
 */
internal inline fun <T> guard(what: String, block: () -> T): T = try {
    synchronized(BC_MLS_LOCK) { block() }
} catch (e: DaveMlsException) {
    throw e
} catch (e: Exception) {
    throw DaveMlsException("$what: ${e.javaClass.simpleName}: ${e.message}", e)
} catch (e: OutOfMemoryError) {
    throw DaveMlsException("$what: a declared length is too large", e)
} catch (e: StackOverflowError) {
    throw DaveMlsException("$what: nesting too deep", e)
}
