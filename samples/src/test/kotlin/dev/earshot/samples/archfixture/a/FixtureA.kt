package dev.earshot.samples.archfixture.a

import dev.earshot.samples.archfixture.b.FixtureB

/** Half of a deliberate package cycle (with [FixtureB]): the negative case of `PackageStructureSpec`. */
class FixtureA {
    fun partner(): FixtureB = FixtureB()
}
