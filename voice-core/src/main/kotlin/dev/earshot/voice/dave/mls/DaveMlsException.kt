package dev.earshot.voice.dave.mls

/**
 * A DAVE MLS message or state change that was refused: malformed bytes, a failed MLS check, or a DAVE rule
 * (proposal not from the external sender, commit with inline proposals, duplicate user id, ...). The caller answers
 * with op 31 and resets. The message never contains key material.
 */
internal class DaveMlsException(message: String, cause: Throwable? = null) : Exception(message, cause)
