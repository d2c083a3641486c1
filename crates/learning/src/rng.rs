//! The random numbers of stochastic rounding, drawn exactly as Lava's
//! fixed-point learning model draws them from NumPy.
//!
//! Lava gives each learning synapse group five `numpy.random.default_rng`
//! generators, that is PCG64 seeded through `SeedSequence`: trace decay and
//! trace impulse for the pre traces (seeds s and s+1), the same for the post
//! traces (s+2, s+3), and one for the synaptic variables (seed 2, whatever s
//! is). Every draw is addressed here by its index in its stream, so the
//! numbers depend only on the seed and the time step, never on the order in
//! which groups or threads ask for them.

/// NumPy's `SeedSequence` hashing constants.
const INIT_A: u32 = 0x43b0_d7e5;
const MULT_A: u32 = 0x931e_8875;
const INIT_B: u32 = 0x8b51_f9dd;
const MULT_B: u32 = 0x58f3_8ded;
const MIX_MULT_L: u32 = 0xca01_f9dd;
const MIX_MULT_R: u32 = 0x4973_f715;
const XSHIFT: u32 = 16;
const POOL_SIZE: usize = 4;

/// The state words `SeedSequence(seed).generate_state(4, uint64)` returns.
pub(crate) fn seed_sequence_state(seed: u128) -> [u64; 4] {
    // The entropy: the seed's 32-bit words, least significant first.
    let mut entropy = Vec::with_capacity(4);
    let mut n = seed;
    loop {
        entropy.push(n as u32);
        n >>= 32;
        if n == 0 {
            break;
        }
    }
    let mut hash_const = INIT_A;
    let mut hashmix = |value: u32| {
        let mut value = value ^ hash_const;
        hash_const = hash_const.wrapping_mul(MULT_A);
        value = value.wrapping_mul(hash_const);
        value ^ (value >> XSHIFT)
    };
    let mix = |x: u32, y: u32| {
        let result = MIX_MULT_L
            .wrapping_mul(x)
            .wrapping_sub(MIX_MULT_R.wrapping_mul(y));
        result ^ (result >> XSHIFT)
    };
    let mut pool = [0u32; POOL_SIZE];
    for (i, word) in pool.iter_mut().enumerate() {
        *word = hashmix(entropy.get(i).copied().unwrap_or(0));
    }
    for src in 0..POOL_SIZE {
        for dst in 0..POOL_SIZE {
            if src != dst {
                let hashed = hashmix(pool[src]);
                pool[dst] = mix(pool[dst], hashed);
            }
        }
    }
    for &word in entropy.iter().skip(POOL_SIZE) {
        for slot in pool.iter_mut() {
            let hashed = hashmix(word);
            *slot = mix(*slot, hashed);
        }
    }
    let mut hash_const = INIT_B;
    let mut words = [0u32; 8];
    for (i, out) in words.iter_mut().enumerate() {
        let mut value = pool[i % POOL_SIZE] ^ hash_const;
        hash_const = hash_const.wrapping_mul(MULT_B);
        value = value.wrapping_mul(hash_const);
        *out = value ^ (value >> XSHIFT);
    }
    let mut state = [0u64; 4];
    for (i, s) in state.iter_mut().enumerate() {
        *s = u64::from(words[2 * i]) | (u64::from(words[2 * i + 1]) << 32);
    }
    state
}

const PCG_MULT: u128 = 0x2360_ed05_1fc6_5da4_4385_df64_9fcc_f645;

/// NumPy's PCG64 (XSL-RR 128/64): each output steps the LCG, then permutes
/// the new state.
///
/// Exported as the raw generator only: [`Pcg64::numpy`] seeds it as
/// `numpy.random.PCG64(SeedSequence(seed))` does and [`Pcg64::next_u64`]
/// returns its outputs in order. How Lava turns outputs into numbers and
/// which draw serves what stays inside this crate (and is written out again,
/// independently, by the reference simulator).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pcg64 {
    state: u128,
    inc: u128,
}

impl Pcg64 {
    /// `PCG64(SeedSequence(seed))`, before its first output.
    pub fn numpy(seed: u128) -> Pcg64 {
        let [s0, s1, i0, i1] = seed_sequence_state(seed);
        let init_state = (u128::from(s0) << 64) | u128::from(s1);
        let init_seq = (u128::from(i0) << 64) | u128::from(i1);
        let mut rng = Pcg64 {
            state: 0,
            inc: (init_seq << 1) | 1,
        };
        rng.step();
        rng.state = rng.state.wrapping_add(init_state);
        rng.step();
        rng
    }

    fn step(&mut self) {
        self.state = self.state.wrapping_mul(PCG_MULT).wrapping_add(self.inc);
    }

    /// The next 64-bit output, as NumPy's `bit_generator.random_raw()`.
    pub fn next_u64(&mut self) -> u64 {
        self.step();
        let hi = (self.state >> 64) as u64;
        let lo = self.state as u64;
        (hi ^ lo).rotate_right((self.state >> 122) as u32)
    }

    /// Moves the generator `delta` outputs ahead in O(log delta).
    pub(crate) fn advance(&mut self, mut delta: u64) {
        let (mut acc_mult, mut acc_plus) = (1u128, 0u128);
        let (mut cur_mult, mut cur_plus) = (PCG_MULT, self.inc);
        while delta > 0 {
            if delta & 1 == 1 {
                acc_mult = acc_mult.wrapping_mul(cur_mult);
                acc_plus = acc_plus.wrapping_mul(cur_mult).wrapping_add(cur_plus);
            }
            cur_plus = cur_mult.wrapping_add(1).wrapping_mul(cur_plus);
            cur_mult = cur_mult.wrapping_mul(cur_mult);
            delta >>= 1;
        }
        self.state = acc_mult.wrapping_mul(self.state).wrapping_add(acc_plus);
    }
}

/// One NumPy stream, read by output index. Reading forward is cheap; going
/// back restarts from the seed and jumps.
#[derive(Debug, Clone)]
pub(crate) struct Stream {
    start: Pcg64,
    cursor: Pcg64,
    /// Index of the output `cursor` produces next.
    next: u64,
    /// The last output read and its index.
    last: Option<(u64, u64)>,
}

/// Beyond this gap, jump instead of stepping.
const STEP_LIMIT: u64 = 64;

impl Stream {
    pub(crate) fn new(seed: u128) -> Stream {
        let start = Pcg64::numpy(seed);
        Stream {
            start,
            cursor: start,
            next: 0,
            last: None,
        }
    }

    /// Output number `index` (0-based) of the stream.
    pub(crate) fn output(&mut self, index: u64) -> u64 {
        if let Some((i, value)) = self.last
            && i == index
        {
            return value;
        }
        if index < self.next {
            self.cursor = self.start;
            self.next = 0;
        }
        let gap = index - self.next;
        if gap > STEP_LIMIT {
            self.cursor.advance(gap);
        } else {
            for _ in 0..gap {
                self.cursor.next_u64();
            }
        }
        let value = self.cursor.next_u64();
        self.next = index + 1;
        self.last = Some((index, value));
        value
    }

    /// Draw `index` of `random()`: a double in [0, 1) from one output.
    pub(crate) fn double(&mut self, index: u64) -> f64 {
        (self.output(index) >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
    }

    /// Draw `index` of `integers(0, 128)`: each draw takes 32 bits, the low
    /// half of an output first, and keeps the top 7 (Lemire's method, which
    /// never rejects for a range of 128).
    pub(crate) fn below_128(&mut self, index: u64) -> u32 {
        let output = self.output(index / 2);
        let half = if index.is_multiple_of(2) {
            output as u32
        } else {
            (output >> 32) as u32
        };
        half >> 25
    }
}

/// The five streams of one learning synapse group.
#[derive(Debug, Clone)]
pub(crate) struct LavaStreams {
    pub(crate) x_decay: Stream,
    pub(crate) x_impulse: Stream,
    pub(crate) y_decay: Stream,
    pub(crate) y_impulse: Stream,
    pub(crate) synaptic: Stream,
}

/// Lava seeds the synaptic-variable stream with 2, ignoring `rng_seed`.
const SYNAPTIC_SEED: u128 = 2;

impl LavaStreams {
    pub(crate) fn new(seed: u64) -> LavaStreams {
        let s = u128::from(seed);
        LavaStreams {
            x_decay: Stream::new(s),
            x_impulse: Stream::new(s + 1),
            y_decay: Stream::new(s + 2),
            y_impulse: Stream::new(s + 3),
            synaptic: Stream::new(SYNAPTIC_SEED),
        }
    }
}
