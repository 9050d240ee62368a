package dev.earshot.bench

/**
 * Runs pair [index] of a harness in a child JVM with this JVM's class path (so JIT and GC state never leak between
 * pairs); [mainClass] is the harness's entry, which prints table rows (`|`) and ratio lines (`-`) for the pair.
 */
internal fun forkPair(mainClass: String, index: Int, quick: Boolean): Pair<List<String>, List<String>> {
    val java = ProcessHandle.current().info().command().orElse("java")
    val cmd = listOf(java, "-Xms1g", "-Xmx1g", "-XX:+UseParallelGC", "-cp", System.getProperty("java.class.path"),
        mainClass, "pair=$index") + (if (quick) listOf("quick") else emptyList())
    val process = ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start()
    val lines = process.inputStream.bufferedReader().readLines()
    check(process.waitFor() == 0) { "$mainClass pair $index failed" }
    return lines.filter { it.startsWith("|") } to lines.filter { it.startsWith("-") }
}
