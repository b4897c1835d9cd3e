//! Helpers for the unit tests of several modules.

/// A small, seeded generator (a 64-bit LCG): property tests draw the same
/// cases on every run, so a failure can be replayed.
pub struct Lcg(pub u64);

impl Lcg {
    /// The next value in `0..bound`.
    pub fn next(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % bound
    }
}
