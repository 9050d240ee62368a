package dev.earshot.voice.testkit

import io.ktor.network.tls.certificates.buildKeyStore
import io.ktor.network.tls.extensions.HashAlgorithm
import io.ktor.network.tls.extensions.SignatureAlgorithm
import java.net.InetAddress
import java.security.KeyStore
import java.security.cert.X509Certificate
import java.util.Base64
import javax.net.ssl.KeyManagerFactory
import javax.net.ssl.SSLContext
import javax.net.ssl.TrustManagerFactory
import javax.net.ssl.X509TrustManager

/**
 * The self-signed certificate a TLS [VoiceTestServer] presents, and what a JVM client needs to trust it.
 *
 * The certificate is made once per JVM (ECDSA P-256, valid for `127.0.0.1` and `localhost`) and shared by every TLS
 * server in the process, because generating a key costs more than a whole test should. Node clients can trust it
 * with `NODE_EXTRA_CA_CERTS` pointing at a file holding [certificatePem], or skip checks with
 * `NODE_TLS_REJECT_UNAUTHORIZED=0`.
 */
public class TlsMaterial private constructor(
    /** The server's certificate (self-signed, so it is also its own trust anchor). */
    public val certificate: X509Certificate,
    /** A trust manager that trusts exactly [certificate]; give it to ktor's CIO client as `https { trustManager = … }`. */
    public val trustManager: X509TrustManager,
    /** A client-side TLS context that trusts exactly [certificate] (for `HttpsURLConnection`, OkHttp, Java's `HttpClient`). */
    public val clientContext: SSLContext,
    internal val serverContext: SSLContext,
) {
    /** [certificate] in PEM form (`-----BEGIN CERTIFICATE-----` ...), e.g. for `NODE_EXTRA_CA_CERTS`. */
    public val certificatePem: String
        get() = buildString {
            append("-----BEGIN CERTIFICATE-----\n")
            Base64.getMimeEncoder(64, "\n".toByteArray()).encodeToString(certificate.encoded).let(::append)
            append("\n-----END CERTIFICATE-----\n")
        }

    /** Access to the process-wide certificate. */
    public companion object {
        private const val ALIAS = "earshot-voice-testkit"
        // Not a secret: the key store only lives in memory and the key only protects loopback test traffic.
        private const val PASSWORD = "earshot-testkit"

        /** The process-wide material, generated on first use. */
        @JvmStatic
        public val shared: TlsMaterial by lazy { generate() }

        private fun generate(): TlsMaterial {
            val keyStore = buildKeyStore {
                certificate(ALIAS) {
                    password = PASSWORD
                    // ECDSA P-256: generating it takes milliseconds where RSA 2048 took seconds.
                    sign = SignatureAlgorithm.ECDSA
                    hash = HashAlgorithm.SHA256
                    keySizeInBits = 256
                    daysValid = 30
                    domains = listOf("127.0.0.1", "localhost")
                    ipAddresses = listOf(InetAddress.getByName("127.0.0.1"))
                }
            }
            val certificate = keyStore.getCertificate(ALIAS) as X509Certificate
            val keyManagers = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm()).apply {
                init(keyStore, PASSWORD.toCharArray())
            }.keyManagers
            val serverContext = SSLContext.getInstance("TLS").apply { init(keyManagers, null, null) }

            val trustStore = KeyStore.getInstance(KeyStore.getDefaultType()).apply {
                load(null, null)
                setCertificateEntry(ALIAS, certificate)
            }
            val trustManager = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm()).apply {
                init(trustStore)
            }.trustManagers.filterIsInstance<X509TrustManager>().first()
            val clientContext = SSLContext.getInstance("TLS").apply { init(null, arrayOf(trustManager), null) }
            return TlsMaterial(certificate, trustManager, clientContext, serverContext)
        }
    }
}
