package dev.earshot.samples

import io.kotest.assertions.withClue
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldBeEmpty
import io.kotest.matchers.collections.shouldContainExactlyInAnyOrder
import io.kotest.matchers.shouldBe
import java.nio.file.FileVisitResult
import java.nio.file.Files
import java.nio.file.Path
import java.nio.file.SimpleFileVisitor
import java.nio.file.attribute.BasicFileAttributes
import kotlin.io.path.name
import kotlin.io.path.readText

/**
 * What a document claims exists: file and directory paths, backticked type names, and coroutine names.
 *
 * - A path is a token with a `/` whose directory segments are lower-case names (or `*`, or `...` for any depth) and
 *   whose last segment is a file name with an extension, an UpperCamel type (`internal/DaveGroup`, meaning
 *   `DaveGroup.kt`), `*` or empty (a directory); inside backticks, any all-lower-case path (`.ci/run`,
 *   `src/test/resources/vectors`). A bare `Name.kt`, `Name.java`, `NAME.md` or `name.mjs` is a file anywhere.
 * - A type is an UpperCamel identifier starting a backticked span, and each UpperCamel segment after it as a
 *   qualified name (`SinkOverflow.DropOldest` gives `SinkOverflow` and `SinkOverflow.DropOldest`,
 *   `VoiceReceiver.listen(sink)` gives `VoiceReceiver`). It exists if the sources declare it, or import it from a
 *   library (then its nested names are the library's business).
 * - A coroutine is any `earshot-...` name; one ending in `-N` stands for a numbered family.
 */
internal data class DocClaims(val paths: Set<String>, val types: Set<String>, val coroutines: Set<String>)

/** Extracts [DocClaims] from Markdown and checks them against a repository's sources. */
internal object ArchitectureDocCheck {
    private const val EXTENSIONS = "kt|java|md|mjs|hex|json|xml|kts"
    private val FENCED = Regex("```.*?```", RegexOption.DOT_MATCHES_ALL)
    private val BACKTICKED = Regex("`([^`\n]+)`")
    private val TOKEN = Regex("""[A-Za-z0-9_.*/@#:-]+""")
    private val FILE_NAME = Regex("""[\w-]+(\.[\w-]+)*\.($EXTENSIONS)""")
    private val DIR_SEGMENT = Regex("""[a-z0-9_.-]+|\*|\.\.\.""")
    private val LOWER_SEGMENT = Regex("""[a-z0-9_.*-]+""")
    private val UPPER_CAMEL = Regex("""[A-Z][A-Za-z0-9]*[a-z][A-Za-z0-9]*""")
    private val COROUTINE = Regex("""earshot(?:-[a-z0-9]+)+(?:-N)?""")
    private val DECLARATION = Regex(
        """\b(?:class|interface|object|typealias|enum|record)\s+([A-Z]\w*)""",
    )
    private val STRING_PREFIX = Regex(""""(earshot-[a-z0-9-]*)""")
    private val LIBRARY_IMPORT = Regex("""^import\s+(?!dev\.earshot\.)[a-z][\w.]*\.([A-Z]\w*)""", RegexOption.MULTILINE)
    private val SKIPPED_DIRS = setOf(".git", "target", "node_modules")

    fun extract(markdown: String): DocClaims {
        val paths = LinkedHashSet<String>()
        val types = LinkedHashSet<String>()
        val prose = FENCED.replace(markdown, "\n")
        val spans = BACKTICKED.findAll(prose).map { it.groupValues[1] }.toList()
        for (token in TOKEN.findAll(markdown).map { it.value.trimEnd('.', ',', ':', ';') }) {
            pathOf(token, backticked = false)?.let(paths::add)
        }
        for (span in spans) {
            if (span.contains('/') && !span.contains(' ')) pathOf(span.trimEnd('.', ','), backticked = true)?.let(paths::add)
            if (FILE_NAME.matches(span)) continue
            val head = span.split('(', '<', ' ', '[')[0]
            val chain = head.split('.').takeWhile { UPPER_CAMEL.matches(it) }
            for (i in chain.indices) types += chain.subList(0, i + 1).joinToString(".")
        }
        return DocClaims(paths, types, COROUTINE.findAll(markdown).map { it.value }.toSet())
    }

    private fun pathOf(token: String, backticked: Boolean): String? {
        if (token.contains("://") || token.startsWith("@") || token.contains('#')) return null
        if (!token.contains('/')) return token.takeIf { FILE_NAME.matches(it) }
        val segments = token.split('/')
        val dirs = segments.dropLast(1)
        val last = segments.last()
        if (dirs.isEmpty() || dirs.any { it.isEmpty() || !DIR_SEGMENT.matches(it) }) return null
        return when {
            last.isEmpty() || last == "*" || FILE_NAME.matches(last) -> token
            UPPER_CAMEL.matches(last) -> "$token.kt"
            backticked && LOWER_SEGMENT.matches(last) -> token
            else -> null
        }
    }

    /**
     * What the repository holds: every file and directory (relative, '/'-separated), the types its sources declare,
     * the library types they import, and the prefixes of their `"earshot-...` string literals.
     */
    class Sources(
        val paths: Set<String>,
        val dirs: Set<String>,
        val types: Set<String>,
        val imported: Set<String>,
        val literals: Set<String>,
    ) {
        companion object {
            fun scan(root: Path): Sources {
                val files = ArrayList<String>()
                val dirs = HashSet<String>()
                fun rel(p: Path) = root.relativize(p).joinToString("/") { it.name }
                Files.walkFileTree(root, object : SimpleFileVisitor<Path>() {
                    override fun preVisitDirectory(dir: Path, attrs: BasicFileAttributes): FileVisitResult {
                        if (dir != root && dir.name in SKIPPED_DIRS) return FileVisitResult.SKIP_SUBTREE
                        dirs += rel(dir)
                        return FileVisitResult.CONTINUE
                    }

                    override fun visitFile(file: Path, attrs: BasicFileAttributes): FileVisitResult {
                        if (attrs.isRegularFile) files += rel(file)
                        return FileVisitResult.CONTINUE
                    }
                })
                val types = HashSet<String>()
                val imported = HashSet<String>()
                val literals = HashSet<String>()
                for (f in files.filter { it.contains("/src/") && (it.endsWith(".kt") || it.endsWith(".java")) }) {
                    val text = root.resolve(f).readText()
                    DECLARATION.findAll(text).forEach { types += it.groupValues[1] }
                    STRING_PREFIX.findAll(text).forEach { literals += it.groupValues[1] }
                    LIBRARY_IMPORT.findAll(text).forEach { imported += it.groupValues[1] }
                }
                return Sources(files.toSet(), dirs, types, imported - types, literals)
            }
        }
    }

    /** Every claim of [claims] that [sources] do not back, as readable lines; [exceptions] are never reported. */
    fun problems(claims: DocClaims, sources: Sources, exceptions: Set<String>): List<String> {
        val out = ArrayList<String>()
        for (p in claims.paths) if (p !in exceptions && !resolves(p, sources)) out += "no file or directory for path '$p'"
        for (t in claims.types) if (t !in exceptions && !typeExists(t, sources)) out += "no declaration of type '$t'"
        for (c in claims.coroutines) {
            if (c in exceptions) continue
            val found = if (c.endsWith("-N")) sources.literals.any { it == c.dropLast(1) } else c in sources.literals
            if (!found) out += "no string literal naming coroutine '$c'"
        }
        return out
    }

    private fun typeExists(name: String, sources: Sources): Boolean {
        val outer = name.substringBefore('.')
        return if (outer == name) name in sources.types || name in sources.imported
        else outer in sources.imported || name.substringAfterLast('.') in sources.types
    }

    /** A path resolves if a file or directory is, or ends with, it ('*' = one segment, '...' = any number). */
    private fun resolves(claim: String, sources: Sources): Boolean {
        val isDir = claim.endsWith("/") || claim.endsWith("/*")
        val trimmed = claim.removeSuffix("/*").removeSuffix("/")
        val pattern = trimmed.split('/').joinToString("/") {
            when (it) {
                "*" -> "[^/]+"
                "..." -> ".+"
                else -> it.split('*').joinToString("[^/]*") { part -> Regex.escape(part) }
            }
        }
        val regex = Regex("(?:.*/)?$pattern")
        val candidates = if (isDir) sources.dirs else sources.paths + sources.dirs
        return candidates.any { regex.matches(it) }
    }
}

/** The directory holding ARCHITECTURE.md, searched upwards from the working directory. */
internal fun repositoryRoot(): Path {
    var dir: Path? = Path.of(System.getProperty("user.dir")).toAbsolutePath()
    while (dir != null && !Files.isRegularFile(dir.resolve("ARCHITECTURE.md"))) dir = dir.parent
    return checkNotNull(dir) { "no ARCHITECTURE.md above ${System.getProperty("user.dir")}" }
}

/**
 * Names ARCHITECTURE.md may mention that are neither declared nor imported by any source file. Keep it short; each
 * entry must still be mentioned, so a stale one fails too.
 */
private val EXCEPTIONS = setOf(
    "VoiceComponent", // hikari's (a Python library) voice component interface, whose surface KordVoice follows
    "earshot-bom", // a module (a directory of this repository), named like a coroutine
)

class ArchitectureDocSpec : FunSpec({
    val root = repositoryRoot()
    val sources = ArchitectureDocCheck.Sources.scan(root)

    test("every path, type and coroutine named in ARCHITECTURE.md exists in the sources") {
        val claims = ArchitectureDocCheck.extract(root.resolve("ARCHITECTURE.md").readText())
        withClue("the check must see the document's claims") {
            (claims.paths.size > 40 && claims.types.size > 100 && claims.coroutines.size > 10) shouldBe true
        }
        // Joined, so a failure lists every problem, not the first.
        ArchitectureDocCheck.problems(claims, sources, EXCEPTIONS).joinToString("\n") shouldBe ""
        withClue("exceptions nobody mentions any more must be removed") {
            EXCEPTIONS.filter { it !in claims.types && it !in claims.paths && it !in claims.coroutines }.shouldBeEmpty()
        }
    }

    test("the extractor finds paths, types and coroutines, and skips look-alikes") {
        val doc = """
            Files: `pipeline/ReadStage.kt`, `connection/*`, `dave/mls/`, `internal/DaveGroup`, `.ci/run`,
            `voice-core/src/test/resources/*/README.md`, BENCHMARKS.md and `Leb128.kt`.
            Types: `VoiceReceiver.listen(sink, after)`, `SinkOverflow.DropOldest`, `CompletableFuture<JavaVoiceConnection>`,
            `java.time.Duration`, `NOT_READY`, `F8 FF FE`.
            Coroutines earshot-clock and `earshot-decode-N`.
            Not paths: op 5/12, WAV/PCM/Ogg, lostromb/concentus#67, `@discordjs/voice`, https://example.com/a/B.kt.
            ```
             DatagramSource ──read──► earshot-read `NotAType`
            ```
        """.trimIndent()
        val claims = ArchitectureDocCheck.extract(doc)
        claims.paths shouldContainExactlyInAnyOrder listOf(
            "pipeline/ReadStage.kt", "connection/*", "dave/mls/", "internal/DaveGroup.kt", ".ci/run",
            "voice-core/src/test/resources/*/README.md", "BENCHMARKS.md", "Leb128.kt",
        )
        claims.types shouldContainExactlyInAnyOrder listOf(
            "VoiceReceiver", "SinkOverflow", "SinkOverflow.DropOldest", "CompletableFuture",
        )
        claims.coroutines shouldContainExactlyInAnyOrder listOf("earshot-clock", "earshot-decode-N", "earshot-read")
    }

    test("a document naming a missing file, type or coroutine fails, one problem each") {
        val doc = """
            The reader is `pipeline/ReadStage.kt` (`DatagramQueue`, coroutine earshot-read) and the clock earshot-decode-N;
            the writer is `pipeline/WriteStage.kt` in `nowhere/*`, run by `WriteStage` as earshot-write; also `VoiceComponent`,
            `Flow.Publisher` (a library's), `SinkOverflow.Buffer` and `SinkOverflow.Unbounded`, and `resources/demo/*.opus`.
        """.trimIndent()
        val problems = ArchitectureDocCheck.problems(ArchitectureDocCheck.extract(doc), sources, EXCEPTIONS)
        problems shouldContainExactlyInAnyOrder listOf(
            "no file or directory for path 'pipeline/WriteStage.kt'",
            "no file or directory for path 'nowhere/*'",
            "no declaration of type 'WriteStage'",
            "no string literal naming coroutine 'earshot-write'",
            "no declaration of type 'SinkOverflow.Unbounded'",
        )
    }
})
