package dev.earshot.samples

import com.tngtech.archunit.core.domain.JavaClass
import com.tngtech.archunit.core.domain.JavaClasses
import com.tngtech.archunit.core.importer.ClassFileImporter
import com.tngtech.archunit.core.importer.ImportOption
import com.tngtech.archunit.lang.ArchRule
import com.tngtech.archunit.lang.EvaluationResult
import com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses
import com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices
import io.kotest.assertions.withClue
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldBeEmpty
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.shouldBe
import java.nio.file.Files
import java.nio.file.Path
import kotlin.io.path.extension
import kotlin.io.path.invariantSeparatorsPathString
import kotlin.io.path.isDirectory
import kotlin.io.path.name
import kotlin.io.path.readText
import kotlin.streams.asSequence

/**
 * The package structure the project keeps, checked twice, because each view misses something the other sees:
 *
 * - on bytecode, with ArchUnit, over every main class of every module on this module's classpath (voice-core,
 *   voice-testkit, voice-kord, voice-java-api, samples): what really links at run time;
 * - on sources ([SourceImports]), over every module directory of the repository (including modules this one does not
 *   depend on, such as benchmarks and any module added later): `import`s the compiler inlines away (constants) or that
 *   only KDoc uses still tie packages together for a reader.
 *
 * Rules: no cycle between packages; voice-core imports neither Kord nor the Java face nor the testkit nor JDA nor
 * Kafka nor the transcription module; the testkit does not import Kord; voice-kord and voice-java-api know nothing of each other.
 */
internal object PackageRules {
    /** A module's forbidden dependencies: package prefixes, and other modules of this repository. */
    class Forbidden(val module: String, val packages: List<String>, val modules: List<String>)

    val FORBIDDEN = listOf(
        Forbidden(
            "voice-core",
            packages = listOf("dev.kord", "net.dv8tion", "org.apache.kafka", "dev.earshot.voice.javaapi", "dev.earshot.voice.testkit", "dev.earshot.voice.kord", "dev.earshot.voice.transcribe"),
            modules = listOf("voice-kord", "voice-java-api", "voice-testkit", "voice-jda", "voice-kafka", "voice-transcribe", "samples", "benchmarks"),
        ),
        Forbidden("voice-testkit", packages = listOf("dev.kord", "dev.earshot.voice.kord"), modules = listOf("voice-kord")),
        Forbidden("voice-kord", packages = listOf("dev.earshot.voice.javaapi"), modules = listOf("voice-java-api")),
        Forbidden("voice-java-api", packages = listOf("dev.kord", "dev.earshot.voice.kord"), modules = listOf("voice-kord")),
    )

    /**
     * A cycle that exists on purpose for now, tolerated by ignoring the edge [from] -> [to] (exact packages). The spec
     * fails once the cycle is gone, so the entry is removed with it.
     */
    class KnownCycle(val from: String, val to: String, val why: String)

    val KNOWN_CYCLES = listOf(
        KnownCycle(
            "dev.earshot.voice.testkit.internal", "dev.earshot.voice.testkit",
            "the testkit's internal parts (gateway connection, endpoint, member player, fault injector) take the public " +
                "server, session and script types they serve; untangling them is a redesign of the testkit",
        ),
    )

    private fun ignoringKnown(rule: com.tngtech.archunit.library.dependencies.SliceRule) = KNOWN_CYCLES.fold(rule) { r, k ->
        r.ignoreDependency(
            com.tngtech.archunit.base.DescribedPredicate.describe("in ${k.from}") { c: JavaClass -> c.packageName == k.from },
            com.tngtech.archunit.base.DescribedPredicate.describe("in ${k.to}") { c: JavaClass -> c.packageName == k.to },
        )
    }

    /** Every package of the project is its own slice: a cycle between any two fails (but for [KNOWN_CYCLES]). */
    val NO_CYCLES: ArchRule = ignoringKnown(slices().matching("dev.earshot.(**)").should().beFreeOfCycles())

    /** Whether [classes] hold a dependency from package [from] to package [to] (exact packages). */
    fun depends(classes: JavaClasses, from: String, to: String): Boolean = classes.any { c ->
        c.packageName == from && c.directDependenciesFromSelf.any { it.targetClass.packageName == to }
    }

    /** The module a class was loaded from: the directory before `target/classes`, or the jar's artifact id. */
    fun moduleOf(c: JavaClass): String? {
        val uri = c.source.orElse(null)?.uri?.toString() ?: return null
        Regex("""/([\w.-]+)/target/(?:test-)?classes/""").find(uri)?.let { return it.groupValues[1] }
        return Regex("""/([a-z][\w-]*?)-\d[^/]*\.jar!""").find(uri)?.groupValues?.get(1)
    }

    /** The violations of the forbidden-dependency rules among [classes], one line each. */
    fun forbiddenDependencies(classes: JavaClasses): List<String> {
        val out = ArrayList<String>()
        for (c in classes) {
            val from = moduleOf(c) ?: continue
            val rule = FORBIDDEN.firstOrNull { it.module == from } ?: continue
            for (d in c.directDependenciesFromSelf) {
                val target = d.targetClass
                val pkg = target.packageName
                val toModule = moduleOf(target)
                if (rule.packages.any { pkg == it || pkg.startsWith("$it.") } || toModule in rule.modules) {
                    out += "$from: ${c.name} -> ${target.name} (${toModule ?: pkg})"
                }
            }
        }
        return out.distinct()
    }
}

/** The package graph of a repository's main sources, read from `package` and `import` lines. */
internal object SourceImports {
    private val PACKAGE = Regex("""^package\s+([\w.]+)""", RegexOption.MULTILINE)
    private val IMPORT = Regex("""^import\s+(?:static\s+)?([\w.]+)""", RegexOption.MULTILINE)

    /** A file's package, the module it lives in, and the packages of everything it imports. */
    class SourceFile(val path: String, val module: String, val pkg: String, val imports: List<String>)

    fun read(root: Path): List<SourceFile> {
        val out = ArrayList<SourceFile>()
        Files.list(root).use { modules ->
            for (module in modules.asSequence().filter { it.isDirectory() }.sorted()) {
                for (lang in listOf("kotlin", "java")) {
                    val dir = module.resolve("src/main/$lang")
                    if (!dir.isDirectory()) continue
                    Files.walk(dir).use { files ->
                        for (f in files.asSequence().filter { it.extension == "kt" || it.extension == "java" }) {
                            val text = f.readText()
                            val pkg = PACKAGE.find(text)?.groupValues?.get(1) ?: ""
                            val imports = IMPORT.findAll(text).map { packageOf(it.groupValues[1]) }.toList()
                            out += SourceFile(root.relativize(f).invariantSeparatorsPathString, module.name, pkg, imports)
                        }
                    }
                }
            }
        }
        return out
    }

    /** The package part of an imported name: the segments before the first upper-case one (or all but a function's). */
    fun packageOf(name: String): String {
        val parts = name.split('.')
        val firstType = parts.indexOfFirst { it.first().isUpperCase() }
        return if (firstType >= 0) parts.take(firstType).joinToString(".") else parts.dropLast(1).joinToString(".")
    }

    /** The project's package graph: package -> packages it imports (project packages only). */
    fun graph(files: List<SourceFile>, prefix: String = "dev.earshot"): Map<String, Set<String>> {
        val ours = files.map { it.pkg }.toSet()
        val g = HashMap<String, MutableSet<String>>()
        for (f in files) {
            if (!f.pkg.startsWith(prefix)) continue
            val to = g.getOrPut(f.pkg) { sortedSetOf() }
            for (i in f.imports) {
                val known = PackageRules.KNOWN_CYCLES.any { it.from == f.pkg && it.to == i }
                if (i != f.pkg && i in ours && !known) to += i
            }
        }
        return g
    }

    /** The strongly connected groups of more than one package (Tarjan), each sorted: every one is a cycle. */
    fun cycles(graph: Map<String, Set<String>>): List<List<String>> {
        var next = 0
        val index = HashMap<String, Int>()
        val low = HashMap<String, Int>()
        val stack = ArrayDeque<String>()
        val onStack = HashSet<String>()
        val out = ArrayList<List<String>>()
        fun visit(v: String) {
            index[v] = next; low[v] = next; next++
            stack.addLast(v); onStack += v
            for (w in graph[v].orEmpty()) {
                if (w !in index) {
                    visit(w); low[v] = minOf(low.getValue(v), low.getValue(w))
                } else if (w in onStack) {
                    low[v] = minOf(low.getValue(v), index.getValue(w))
                }
            }
            if (low[v] == index[v]) {
                val group = ArrayList<String>()
                do {
                    val w = stack.removeLast(); onStack -= w; group += w
                } while (w != v)
                if (group.size > 1) out += group.sorted()
            }
        }
        for (v in graph.keys.sorted()) if (v !in index) visit(v)
        return out
    }

    /** Imports that break [PackageRules.FORBIDDEN], one line each (by package prefix and by the imported module). */
    fun forbidden(files: List<SourceFile>): List<String> {
        val moduleOfPackage = files.groupBy { it.pkg }.mapValues { (_, fs) -> fs.map { it.module }.toSet() }
        val out = ArrayList<String>()
        for (f in files) {
            val rule = PackageRules.FORBIDDEN.firstOrNull { it.module == f.module } ?: continue
            for (i in f.imports) {
                val byPackage = rule.packages.any { i == it || i.startsWith("$it.") }
                val byModule = moduleOfPackage[i].orEmpty().any { it in rule.modules && it != f.module }
                if (byPackage || byModule) out += "${f.path} imports $i"
            }
        }
        return out.distinct()
    }
}

class PackageStructureSpec : FunSpec({
    val mainClasses by lazy {
        ClassFileImporter().withImportOption(ImportOption.DoNotIncludeTests()).importPackages("dev.earshot")
    }

    test("bytecode: no package cycle in any module, and no forbidden dependency between modules") {
        val classes = mainClasses
        // Every module this one builds against is really there, so an empty import cannot pass the check.
        classes.mapNotNull { PackageRules.moduleOf(it) }.toSet()
            .containsAll(listOf("voice-core", "voice-testkit", "voice-kord", "voice-java-api", "samples")) shouldBe true
        val cycles: EvaluationResult = PackageRules.NO_CYCLES.evaluate(classes)
        withClue(cycles.failureReport.details.take(20).joinToString("\n")) { cycles.hasViolation() shouldBe false }
        PackageRules.forbiddenDependencies(classes).shouldBeEmpty()
        for (k in PackageRules.KNOWN_CYCLES) {
            withClue("the known cycle ${k.from} <-> ${k.to} is gone: remove it from KNOWN_CYCLES") {
                (PackageRules.depends(classes, k.from, k.to) && PackageRules.depends(classes, k.to, k.from)) shouldBe true
            }
        }
    }

    test("sources: no package cycle in any module, and no forbidden import") {
        val files = SourceImports.read(repositoryRoot())
        files.map { it.module }.toSet().containsAll(listOf("voice-core", "voice-testkit", "benchmarks")) shouldBe true
        SourceImports.cycles(SourceImports.graph(files)).shouldBeEmpty()
        SourceImports.forbidden(files).shouldBeEmpty()
    }

    test("the checks fail on a cycle and on a forbidden import") {
        // Two fixture packages that import each other (compiled test classes, outside every module's main code).
        val fixture = ClassFileImporter().importPackages("dev.earshot.samples.archfixture")
        fixture.size shouldBe 2
        PackageRules.NO_CYCLES.evaluate(fixture).hasViolation() shouldBe true
        val graph = mapOf("a" to setOf("b"), "b" to setOf("c"), "c" to setOf("a"), "d" to setOf("a"))
        SourceImports.cycles(graph) shouldContainExactly listOf(listOf("a", "b", "c"))
        val core = SourceImports.SourceFile("voice-core/X.kt", "voice-core", "dev.earshot.voice", listOf("dev.kord.core"))
        val kord = SourceImports.SourceFile("voice-kord/Y.kt", "voice-kord", "dev.earshot.voice.kord", listOf("dev.earshot.voice"))
        val java = SourceImports.SourceFile("voice-java-api/Z.kt", "voice-java-api", "dev.earshot.voice.javaapi.x", listOf("dev.earshot.voice.kord"))
        SourceImports.forbidden(listOf(core, kord, java)) shouldContainExactly listOf(
            "voice-core/X.kt imports dev.kord.core",
            "voice-java-api/Z.kt imports dev.earshot.voice.kord",
        )
    }
})
