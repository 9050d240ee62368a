package dev.earshot.samples

import java.io.PrintStream

/**
 * Where the demo prints: [out], and whether it is a terminal ([interactive]), in which case the live status line is
 * redrawn in place with `\r`; otherwise (a pipe, a CI or Maven log) only its changes are printed, one per line.
 */
class DemoConsole(val out: PrintStream, val interactive: Boolean) {
    private var statusWidth = 0

    /** Prints [text] on a line of its own (after a status line being redrawn, if any). */
    @Synchronized
    fun line(text: String) {
        if (statusWidth > 0) {
            out.print("\r" + " ".repeat(statusWidth) + "\r")
            statusWidth = 0
        }
        out.println(text)
        out.flush()
    }

    /** Shows [text] as the status line: redrawn in place on a terminal, a new line elsewhere. */
    @Synchronized
    fun status(text: String) {
        if (!interactive) {
            out.println(text)
        } else {
            out.print("\r" + text + " ".repeat(maxOf(0, statusWidth - text.length)))
            statusWidth = text.length
        }
        out.flush()
    }

    /** Ends a status line being redrawn, so what follows starts on a fresh line. */
    @Synchronized
    fun endStatus() {
        if (statusWidth > 0) {
            out.println()
            statusWidth = 0
        }
        out.flush()
    }

    companion object {
        /**
         * The process's stdout; interactive when there is a console (`System.console() != null`) and, on JDK 22 and
         * later, where `System.console()` exists even for pipes, when that console is a terminal.
         */
        fun system(): DemoConsole = DemoConsole(System.out, isTerminal())

        private fun isTerminal(): Boolean {
            val console = System.console() ?: return false
            return try {
                console.javaClass.getMethod("isTerminal").invoke(console) as Boolean
            } catch (e: NoSuchMethodException) {
                true // JDK 17 to 21: a console exists only for a terminal
            } catch (e: ReflectiveOperationException) {
                true
            }
        }
    }
}
