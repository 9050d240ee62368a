package dev.earshot.voice.kafka

import org.apache.kafka.clients.admin.Admin
import org.apache.kafka.clients.admin.AdminClientConfig
import org.apache.kafka.clients.admin.NewTopic
import org.apache.kafka.common.Uuid
import java.net.ServerSocket
import java.nio.file.Files
import java.nio.file.Path
import java.util.concurrent.TimeUnit
import java.util.concurrent.locks.LockSupport

/**
 * A real Kafka 4.3.1 broker (`kafka.Kafka`, one combined KRaft broker+controller node) in a child JVM on the test
 * classpath, on 127.0.0.1. Stopped (SIGKILL of its PID, like a crash) and started again on the same ports and log
 * directory to make an outage. One is shared by the module's specs ([shared]) to keep test time low.
 */
class TestBroker private constructor(private val dir: Path) {
    val port: Int = freePort()
    private val controllerPort: Int = freePort()
    val bootstrap: String get() = "127.0.0.1:$port"
    private var process: Process? = null
    private val config: Path = dir.resolve("server.properties")
    val log: Path = dir.resolve("broker.log")

    init {
        Files.writeString(
            config,
            """
            process.roles=broker,controller
            node.id=1
            controller.quorum.voters=1@127.0.0.1:$controllerPort
            listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controllerPort
            advertised.listeners=PLAINTEXT://127.0.0.1:$port
            controller.listener.names=CONTROLLER
            inter.broker.listener.name=PLAINTEXT
            listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
            log.dirs=${dir.resolve("data")}
            num.partitions=1
            offsets.topic.replication.factor=1
            offsets.topic.num.partitions=4
            transaction.state.log.replication.factor=1
            transaction.state.log.min.isr=1
            share.coordinator.state.topic.replication.factor=1
            share.coordinator.state.topic.min.isr=1
            group.initial.rebalance.delay.ms=0
            auto.create.topics.enable=false
            """.trimIndent(),
        )
        java(listOf("kafka.tools.StorageTool", "format", "-t", Uuid.randomUuid().toString(), "-c", config.toString()))
            .also { p ->
                check(p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0) { "kafka storage format failed: ${Files.readString(log)}" }
            }
    }

    private fun java(args: List<String>): Process {
        val javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString()
        val cp = System.getProperty("java.class.path")
        return ProcessBuilder(listOf(javaBin, "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", cp) + args)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
            .start()
    }

    /** Starts the broker and waits until it answers (at most [timeoutSeconds]). */
    fun start(timeoutSeconds: Long = 120) {
        check(process?.isAlive != true) { "already running" }
        process = java(listOf("kafka.Kafka", config.toString()))
        val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds)
        while (true) {
            check(process!!.isAlive) { "the broker exited: ${Files.readString(log).takeLast(4000)}" }
            val up = runCatching { admin().use { it.describeCluster().nodes().get(5, TimeUnit.SECONDS).isNotEmpty() } }.getOrDefault(false)
            if (up) return
            check(System.nanoTime() < deadline) { "the broker did not start in $timeoutSeconds s" }
            // A refused connection fails at once: poll the starting broker a few times a second, not in a spin.
            LockSupport.parkNanos(200_000_000L)
        }
    }

    /** Kills the broker's process (by its PID) and waits for it to be gone. */
    fun stop() {
        val p = process ?: return
        p.destroyForcibly()
        p.waitFor(30, TimeUnit.SECONDS)
        process = null
    }

    fun admin(): Admin = Admin.create(
        mapOf<String, Any>(
            AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG to bootstrap,
            AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG to 5000,
            AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG to 5000,
        ),
    )

    fun createTopic(name: String, partitions: Int) {
        admin().use { it.createTopics(listOf(NewTopic(name, partitions, 1.toShort()))).all().get(30, TimeUnit.SECONDS) }
    }

    companion object {
        private var counter = 0

        /** The module's broker, started on first use and killed when the test JVM exits. */
        val shared: TestBroker by lazy {
            val dir = Files.createTempDirectory("earshot-kafka")
            TestBroker(dir).also { b ->
                Runtime.getRuntime().addShutdownHook(Thread { b.stop() })
                val t0 = System.nanoTime()
                b.start()
                println("kafka broker up at ${b.bootstrap} in ${(System.nanoTime() - t0) / 1_000_000} ms (log ${b.log})")
            }
        }

        /** A fresh topic name, so specs sharing the broker do not see each other's records. */
        @Synchronized
        fun topic(prefix: String): String = "$prefix-${++counter}-${System.nanoTime() % 100000}"

        private fun freePort(): Int = ServerSocket(0, 0, java.net.InetAddress.getLoopbackAddress()).use { it.localPort }
    }
}
