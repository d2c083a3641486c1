//! Deterministic expansion of random connectivity.

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

/// A uniform draw in (0, 1] with 53 random bits.
pub(crate) fn unit_open_closed(rng: &mut ChaCha8Rng) -> f64 {
    ((rng.next_u64() >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// The (pre, post) pairs of a `fixed_probability` projection: each of the
/// `n_from × n_to` pairs is connected independently with probability `p`.
///
/// Pairs are visited in pre-major order (`pre * n_to + post`), and the gap to
/// the next connected pair is drawn from the geometric distribution
/// (`floor(ln U / ln(1 − p))`, U uniform in (0, 1] from a ChaCha8 stream seeded
/// with `seed`), so the cost follows the number of synapses, not of pairs.
/// Self-connections of a recurrent projection are included like any pair.
pub(crate) fn fixed_probability(
    n_from: u32,
    n_to: u32,
    p: f64,
    seed: u64,
) -> impl Iterator<Item = (u32, u32)> {
    let total = u64::from(n_from) * u64::from(n_to);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let ln_q = (-p).ln_1p();
    // Index of the next pair not yet decided.
    let mut pos: u64 = 0;
    std::iter::from_fn(move || {
        if p <= 0.0 {
            return None;
        }
        // Pairs skipped before the next connected one; `as` saturates, and a
        // gap beyond the matrix simply ends the walk.
        let gap = if p >= 1.0 {
            0
        } else {
            (unit_open_closed(&mut rng).ln() / ln_q).floor() as u64
        };
        let idx = pos.saturating_add(gap);
        if idx >= total {
            pos = total;
            return None;
        }
        pos = idx + 1;
        Some((
            (idx / u64::from(n_to)) as u32,
            (idx % u64::from(n_to)) as u32,
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_pairs_other_seed_other_pairs() {
        let a: Vec<_> = fixed_probability(50, 40, 0.1, 7).collect();
        let b: Vec<_> = fixed_probability(50, 40, 0.1, 7).collect();
        let c: Vec<_> = fixed_probability(50, 40, 0.1, 8).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn pairs_are_distinct_in_range_and_ordered() {
        let pairs: Vec<_> = fixed_probability(30, 20, 0.3, 1).collect();
        for w in pairs.windows(2) {
            assert!(w[0] < w[1], "{:?} not before {:?}", w[0], w[1]);
        }
        assert!(pairs.iter().all(|&(pre, post)| pre < 30 && post < 20));
    }

    #[test]
    fn extremes_connect_all_or_nothing() {
        assert_eq!(fixed_probability(3, 4, 1.0, 0).count(), 12);
        assert_eq!(fixed_probability(3, 4, 0.0, 0).count(), 0);
        assert_eq!(fixed_probability(0, 4, 0.5, 0).count(), 0);
    }

    #[test]
    fn connection_count_matches_p() {
        // 1000 × 1000 pairs at p = 0.02: mean 20,000, sd ≈ 140; 5 sd bounds.
        let n = fixed_probability(1000, 1000, 0.02, 42).count() as f64;
        assert!((n - 20_000.0).abs() < 700.0, "{n} synapses");
        // Every pair is equally likely: the first row gets its share too.
        let pairs: Vec<_> = fixed_probability(200, 200, 0.5, 3).collect();
        let row0 = pairs.iter().filter(|(pre, _)| *pre == 0).count() as f64;
        assert!((row0 - 100.0).abs() < 40.0, "{row0} in row 0");
    }
}
