package dev.earshot.voice.crypto

import java.lang.invoke.MethodHandles
import java.lang.invoke.VarHandle
import java.nio.ByteOrder

/**
 * The ChaCha20 block function (RFC 8439 §2.3) and HChaCha20 (draft-irtf-cfrg-xchacha §2.2) on 32-bit words, with no
 * allocation: callers pass the key as 8 words and a 16-word scratch array. The 20 rounds run on local variables so
 * that the JIT keeps the state in registers.
 */
internal object ChaCha20 {
    /** Words per block, and bytes per block. */
    const val BLOCK_WORDS = 16
    const val BLOCK_BYTES = 64

    private val LE_INT: VarHandle = MethodHandles.byteArrayViewVarHandle(IntArray::class.java, ByteOrder.LITTLE_ENDIAN)

    /** Reads the little-endian 32-bit word at b[off, off + 4). */
    fun le32(b: ByteArray, off: Int): Int = LE_INT.get(b, off) as Int

    /**
     * One ChaCha20 block for key words k[0, 8) and state words 12-15 ([w12] the block counter, [w13]-[w15] the
     * 12-byte nonce as little-endian words) into out[0, 16), each word the block's little-endian serialisation.
     * With [feedForward] false the input is not added back after the rounds: that is HChaCha20, whose output is
     * words 0-3 and 12-15, when w12-w15 hold the first 16 nonce bytes.
     */
    fun block(k: IntArray, w12: Int, w13: Int, w14: Int, w15: Int, out: IntArray, feedForward: Boolean = true) {
        val k0 = k[0]; val k1 = k[1]; val k2 = k[2]; val k3 = k[3]; val k4 = k[4]; val k5 = k[5]; val k6 = k[6]; val k7 = k[7]
        var x0 = C0; var x1 = C1; var x2 = C2; var x3 = C3
        var x4 = k0; var x5 = k1; var x6 = k2; var x7 = k3
        var x8 = k4; var x9 = k5; var x10 = k6; var x11 = k7
        var x12 = w12; var x13 = w13; var x14 = w14; var x15 = w15
        repeat(10) {
            // Column round, then diagonal round: RFC 8439 §2.3, each line one half of a quarter round (§2.1).
            x0 += x4; x12 = (x12 xor x0).rotateLeft(16); x8 += x12; x4 = (x4 xor x8).rotateLeft(12)
            x0 += x4; x12 = (x12 xor x0).rotateLeft(8); x8 += x12; x4 = (x4 xor x8).rotateLeft(7)
            x1 += x5; x13 = (x13 xor x1).rotateLeft(16); x9 += x13; x5 = (x5 xor x9).rotateLeft(12)
            x1 += x5; x13 = (x13 xor x1).rotateLeft(8); x9 += x13; x5 = (x5 xor x9).rotateLeft(7)
            x2 += x6; x14 = (x14 xor x2).rotateLeft(16); x10 += x14; x6 = (x6 xor x10).rotateLeft(12)
            x2 += x6; x14 = (x14 xor x2).rotateLeft(8); x10 += x14; x6 = (x6 xor x10).rotateLeft(7)
            x3 += x7; x15 = (x15 xor x3).rotateLeft(16); x11 += x15; x7 = (x7 xor x11).rotateLeft(12)
            x3 += x7; x15 = (x15 xor x3).rotateLeft(8); x11 += x15; x7 = (x7 xor x11).rotateLeft(7)
            x0 += x5; x15 = (x15 xor x0).rotateLeft(16); x10 += x15; x5 = (x5 xor x10).rotateLeft(12)
            x0 += x5; x15 = (x15 xor x0).rotateLeft(8); x10 += x15; x5 = (x5 xor x10).rotateLeft(7)
            x1 += x6; x12 = (x12 xor x1).rotateLeft(16); x11 += x12; x6 = (x6 xor x11).rotateLeft(12)
            x1 += x6; x12 = (x12 xor x1).rotateLeft(8); x11 += x12; x6 = (x6 xor x11).rotateLeft(7)
            x2 += x7; x13 = (x13 xor x2).rotateLeft(16); x8 += x13; x7 = (x7 xor x8).rotateLeft(12)
            x2 += x7; x13 = (x13 xor x2).rotateLeft(8); x8 += x13; x7 = (x7 xor x8).rotateLeft(7)
            x3 += x4; x14 = (x14 xor x3).rotateLeft(16); x9 += x14; x4 = (x4 xor x9).rotateLeft(12)
            x3 += x4; x14 = (x14 xor x3).rotateLeft(8); x9 += x14; x4 = (x4 xor x9).rotateLeft(7)
        }
        if (feedForward) {
            x0 += C0; x1 += C1; x2 += C2; x3 += C3
            x4 += k0; x5 += k1; x6 += k2; x7 += k3; x8 += k4; x9 += k5; x10 += k6; x11 += k7
            x12 += w12; x13 += w13; x14 += w14; x15 += w15
        }
        out[0] = x0; out[1] = x1; out[2] = x2; out[3] = x3; out[4] = x4; out[5] = x5; out[6] = x6; out[7] = x7
        out[8] = x8; out[9] = x9; out[10] = x10; out[11] = x11; out[12] = x12; out[13] = x13; out[14] = x14; out[15] = x15
    }

    /**
     * HChaCha20: the XChaCha20 subkey for key words k[0, 8) and the first 16 nonce bytes as words [n0]-[n3], written
     * to subkey[0, 8). [scratch] is 16 words.
     */
    fun hchacha(k: IntArray, n0: Int, n1: Int, n2: Int, n3: Int, subkey: IntArray, scratch: IntArray) {
        block(k, n0, n1, n2, n3, scratch, feedForward = false)
        for (i in 0 until 4) {
            subkey[i] = scratch[i]
            subkey[4 + i] = scratch[12 + i]
        }
    }

    /**
     * XORs the ChaCha20 key stream for key words k, nonce words [n0]-[n2], starting at block [counter], into
     * input[inOff, inOff + len) and writes the result to output[outOff ...] (the two ranges may be the same).
     * [scratch] is 16 words.
     */
    fun xor(
        k: IntArray, counter: Int, n0: Int, n1: Int, n2: Int,
        input: ByteArray, inOff: Int, len: Int, output: ByteArray, outOff: Int, scratch: IntArray,
    ) {
        var done = 0
        var next = counter
        while (done < len) {
            block(k, next++, n0, n1, n2, scratch)
            val n = minOf(BLOCK_BYTES, len - done)
            val i = inOff + done
            val o = outOff + done
            if (n == BLOCK_BYTES) {
                for (w in 0 until BLOCK_WORDS) LE_INT.set(output, o + 4 * w, (LE_INT.get(input, i + 4 * w) as Int) xor scratch[w])
            } else {
                var j = 0
                while (j + 4 <= n) {
                    LE_INT.set(output, o + j, (LE_INT.get(input, i + j) as Int) xor scratch[j ushr 2])
                    j += 4
                }
                while (j < n) {
                    output[o + j] = (input[i + j].toInt() xor (scratch[j ushr 2] ushr (8 * (j and 3)))).toByte()
                    j++
                }
            }
            done += n
        }
    }

    // "expand 32-byte k" as little-endian words (RFC 8439 §2.3).
    private const val C0 = 0x61707865
    private const val C1 = 0x3320646e
    private const val C2 = 0x79622d32
    private const val C3 = 0x6b206574
}
