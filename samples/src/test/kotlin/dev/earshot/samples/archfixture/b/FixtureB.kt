package dev.earshot.samples.archfixture.b

import dev.earshot.samples.archfixture.a.FixtureA

/** The other half of the deliberate package cycle: `b` uses `a` as `a` uses `b`. */
class FixtureB {
    fun partner(): FixtureA = FixtureA()
}
