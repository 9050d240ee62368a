package dev.earshot.voice.dave.mls

import dev.earshot.voice.dave.mls.DaveTestCrypto.hex
import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe

/** RFC 9420 §2.1.2 variable-length vectors. */
class MlsVectorsSpec : FunSpec({
    test("lengths take the shortest of the 1, 2 and 4 byte forms (RFC 9420 / QUIC varint examples)") {
        hex(MlsVectors.encode(ByteArray(0))) shouldBe "00"
        hex(MlsVectors.encode(ByteArray(63))).take(2) shouldBe "3f"
        hex(MlsVectors.encode(ByteArray(64))).take(4) shouldBe "4040"
        hex(MlsVectors.encode(ByteArray(16383))).take(4) shouldBe "7fff"
        hex(MlsVectors.encode(ByteArray(16384))).take(8) shouldBe "80004000"
        hex(MlsVectors.encodeVectorOfVectors(listOf(byteArrayOf(1), byteArrayOf(2, 3)))) shouldBe "050101020203"
    }

    test("the reader returns vector bodies and refuses overruns, the 8-byte prefix and trailing bytes") {
        for (n in listOf(0, 1, 63, 64, 300, 16383, 16384, 70000)) {
            val body = ByteArray(n) { it.toByte() }
            val r = MlsVectors.Reader(MlsVectors.encode(body) + byteArrayOf(9))
            r.readVector().contentEquals(body) shouldBe true
            shouldThrow<DaveMlsException> { r.requireEnd() }
            r.readByte() shouldBe 9
            r.requireEnd()
        }
        shouldThrow<DaveMlsException> { MlsVectors.Reader(DaveTestCrypto.hex("05010203")).readVector() }
        shouldThrow<DaveMlsException> { MlsVectors.Reader(DaveTestCrypto.hex("c000000000000001ff")).readVector() }
        shouldThrow<DaveMlsException> { MlsVectors.Reader(DaveTestCrypto.hex("bfffffff")).readVector() }
        shouldThrow<DaveMlsException> { MlsVectors.Reader(ByteArray(0)).readLength() }
    }
})
