//! Trace state of one learning synapse group: the pre traces x1, x2 per
//! pre-synaptic neuron, the post traces y1, y2, y3 per post-synaptic neuron,
//! the spike times within the current epoch, and the epoch-end histories.

use crate::profile::{LearningProfile, PostTraceSource, Trace};
use crate::rng::LavaStreams;

/// Largest value of a 7-bit trace.
pub(crate) const TRACE_MAX: i64 = 127;

/// The trace state of one learning synapse group.
///
/// Traces are lazy, as in Lava: the stored value is the value at the start
/// of the epoch; a spike only records its step within the epoch, and the
/// decays and impulses of the whole epoch are worked out at its end
/// ([`end_step`](Traces::end_step)).
#[derive(Debug, Clone)]
pub struct Traces {
    n_pre: usize,
    n_post: usize,
    t_epoch: u32,
    /// Steps completed.
    step: u64,
    /// Stored values: x1, x2 (per pre), y1, y2, y3 (per post).
    values: [Vec<i32>; 5],
    /// Within-epoch step (1..=t_epoch) of each neuron's last spike in the
    /// current epoch, 0 if none.
    tx: Vec<u8>,
    ty: Vec<u8>,
    streams: LavaStreams,
    epoch: EpochData,
}

/// What the last completed epoch leaves for [`apply`](crate::apply).
#[derive(Debug, Clone)]
pub(crate) struct EpochData {
    /// Epochs completed; 0 before the first.
    pub(crate) number: u64,
    pub(crate) tx: Vec<u8>,
    pub(crate) ty: Vec<u8>,
    /// Per trace, the history H[h] for h = 0..=t_epoch, step-major:
    /// `history[trace][h * n + neuron]`.
    pub(crate) history: [Vec<i32>; 5],
    /// The uk dependency of this epoch.
    pub(crate) u: bool,
    /// The random number of the synaptic variables' stochastic rounding.
    pub(crate) r_synaptic: f64,
}

impl Traces {
    /// All traces at 0 and no spikes, before step 1.
    pub fn new(profile: &LearningProfile, n_pre: usize, n_post: usize) -> Traces {
        let t = profile.t_epoch as usize;
        let sizes = [n_pre, n_pre, n_post, n_post, n_post];
        Traces {
            n_pre,
            n_post,
            t_epoch: profile.t_epoch,
            step: 0,
            values: sizes.map(|n| vec![0; n]),
            tx: vec![0; n_pre],
            ty: vec![0; n_post],
            streams: LavaStreams::new(profile.rng_seed),
            epoch: EpochData {
                number: 0,
                tx: vec![0; n_pre],
                ty: vec![0; n_post],
                history: sizes.map(|n| vec![0; (t + 1) * n]),
                u: false,
                r_synaptic: 0.0,
            },
        }
    }

    /// Number of pre-synaptic neurons.
    pub fn n_pre(&self) -> usize {
        self.n_pre
    }

    /// Number of post-synaptic neurons.
    pub fn n_post(&self) -> usize {
        self.n_post
    }

    /// Steps completed: the step being recorded is `steps() + 1`.
    pub fn steps(&self) -> u64 {
        self.step
    }

    /// The stored values of a trace: at the start of the current epoch (for
    /// supplied post traces, the value last supplied).
    pub fn values(&self, trace: Trace) -> &[i32] {
        &self.values[trace.index()]
    }

    /// Overwrites a trace's stored value: the way to supply a post trace
    /// each step (a neuromodulator's value in y2 or y3, or the trace a
    /// third-factor neuron keeps in y1), or to set state between runs.
    ///
    /// # Panics
    ///
    /// If `neuron` is out of range for the trace.
    pub fn set(&mut self, trace: Trace, neuron: usize, value: i32) {
        self.values[trace.index()][neuron] = value;
    }

    /// Within-epoch step (1..=t_epoch) of the pre neuron's last spike in the
    /// current epoch, 0 if it has not spiked.
    pub fn pre_spike_step(&self, pre: usize) -> Option<u8> {
        self.tx.get(pre).copied()
    }

    /// Within-epoch step of the post neuron's last spike, 0 if none.
    pub fn post_spike_step(&self, post: usize) -> Option<u8> {
        self.ty.get(post).copied()
    }

    fn within_epoch_step(&self) -> u8 {
        // At most 63, the epoch's length.
        (self.step % u64::from(self.t_epoch)) as u8 + 1
    }

    /// Records a spike of a pre-synaptic neuron in the current step. A
    /// neuron spikes at most once per step.
    ///
    /// On a second spike in the same epoch, the stored x1 and x2 take their
    /// impulse at once, rounded up if the impulse has a fractional part,
    /// and only the last spike keeps its place in the epoch (Lava's
    /// `_process_pre_spikes`).
    ///
    /// # Panics
    ///
    /// If `pre` is out of range.
    pub fn record_pre_spike(&mut self, profile: &LearningProfile, pre: usize) {
        if self.tx[pre] > 0 {
            for trace in [Trace::X1, Trace::X2] {
                let value = &mut self.values[trace.index()][pre];
                *value = add_impulse(*value, profile.trace(trace), 0);
            }
        }
        self.tx[pre] = self.within_epoch_step();
    }

    /// Records a spike of a post-synaptic neuron (a back-propagating action
    /// potential) in the current step. A neuron spikes at most once per
    /// step.
    ///
    /// On a second spike in the same epoch, the stored y traces kept from
    /// spikes take their impulse at once, with the post-trace impulse
    /// random number of this step (Lava's `_process_post_spikes`).
    ///
    /// # Panics
    ///
    /// If `post` is out of range.
    pub fn record_post_spike(&mut self, profile: &LearningProfile, post: usize) {
        if self.ty[post] > 0 {
            // Lava draws after the pre bookkeeping of the step: draw 2t − 1.
            let t = self.step + 1;
            let r = self.streams.y_impulse.below_128(2 * t - 1);
            for (k, trace) in [Trace::Y1, Trace::Y2, Trace::Y3].into_iter().enumerate() {
                if profile.post_sources[k] == PostTraceSource::Spikes {
                    let value = &mut self.values[trace.index()][post];
                    *value = add_impulse(*value, profile.trace(trace), r);
                }
            }
        }
        self.ty[post] = self.within_epoch_step();
    }

    /// Ends the current step. At the end of an epoch (a step that is a
    /// multiple of `t_epoch`) this works out every trace's history over the
    /// epoch, stores the end-of-epoch values, starts the next epoch, and
    /// returns the finished epoch for [`apply`](crate::apply).
    pub fn end_step(&mut self, profile: &LearningProfile) -> Option<Epoch<'_>> {
        debug_assert_eq!(profile.t_epoch, self.t_epoch, "traces of another profile");
        self.step += 1;
        if !self.step.is_multiple_of(u64::from(self.t_epoch)) {
            return None;
        }
        self.finish_epoch(profile);
        Some(Epoch { traces: self })
    }

    /// The last completed epoch, if any.
    pub fn last_epoch(&self) -> Option<Epoch<'_>> {
        (self.epoch.number > 0).then_some(Epoch { traces: self })
    }

    fn finish_epoch(&mut self, profile: &LearningProfile) {
        let t = self.step;
        let epoch = &mut self.epoch;
        epoch.number = t / u64::from(self.t_epoch);
        epoch.u = match profile.decimation {
            Some(k) => epoch.number.is_multiple_of(1u64 << k),
            None => false,
        };
        epoch.r_synaptic = self.streams.synaptic.double(epoch.number);
        // One random number per stream for the whole epoch: draw 2t.
        let x_decay = self.streams.x_decay.double(2 * t);
        let x_impulse = self.streams.x_impulse.below_128(2 * t);
        let y_decay = self.streams.y_decay.double(2 * t);
        let y_impulse = self.streams.y_impulse.below_128(2 * t);
        std::mem::swap(&mut self.tx, &mut epoch.tx);
        std::mem::swap(&mut self.ty, &mut epoch.ty);
        self.tx.fill(0);
        self.ty.fill(0);
        let t_epoch = self.t_epoch as usize;
        for trace in Trace::ALL {
            let k = trace.index();
            let (spikes, r_decay, r_impulse) = if k < 2 {
                (&epoch.tx, x_decay, x_impulse)
            } else {
                (&epoch.ty, y_decay, y_impulse)
            };
            let params = profile.trace(trace);
            let stored = &mut self.values[k];
            let history = &mut epoch.history[k];
            let n = stored.len();
            for (i, value) in stored.iter_mut().enumerate() {
                let spike = usize::from(spikes[i]);
                let mut h_value = *value;
                history[i] = h_value;
                for h in 1..=t_epoch {
                    h_value = match params.decay {
                        Some(factor) => decay(h_value, factor, r_decay),
                        None => 0,
                    };
                    if spike == h {
                        h_value = add_impulse(h_value, params, r_impulse);
                    }
                    history[h * n + i] = h_value;
                }
                let supplied = k >= 2 && profile.post_sources[k - 2] == PostTraceSource::Supplied;
                if !supplied {
                    *value = h_value;
                }
            }
        }
    }
}

/// Adds a trace's impulse: the integer part, plus one if `r` (0..=127) is
/// below the fraction in 1/256, then clips to 0..=127.
pub(crate) fn add_impulse(value: i32, params: &crate::profile::TraceParams, r: u32) -> i32 {
    let up = i64::from(r < params.impulse_frac);
    let sum = i64::from(value) + params.impulse_int + up;
    // In 0..=127 after the clip.
    sum.clamp(0, TRACE_MAX) as i32
}

/// Decays a trace by one step: `v·factor` in double precision, rounded down,
/// plus one if `r` is below the fractional part (NumPy's `% 1`).
pub(crate) fn decay(value: i32, factor: f64, r: f64) -> i32 {
    let x = factor * f64::from(value);
    let mut fraction = x % 1.0;
    if fraction < 0.0 {
        fraction += 1.0;
    }
    let floor = x.floor();
    // |x| ≤ |value| for a true decay factor; saturate for any other.
    (floor as i32).saturating_add(i32::from(r < fraction))
}

/// A completed epoch of a [`Traces`], borrowed for [`apply`](crate::apply).
#[derive(Debug, Clone, Copy)]
pub struct Epoch<'a> {
    pub(crate) traces: &'a Traces,
}

impl Epoch<'_> {
    /// The epoch's number, from 1.
    pub fn number(&self) -> u64 {
        self.traces.epoch.number
    }

    /// The step at which it ended.
    pub fn end_step(&self) -> u64 {
        self.traces.epoch.number * u64::from(self.traces.t_epoch)
    }

    /// Whether the uk dependency is 1 in this epoch.
    pub fn u(&self) -> bool {
        self.traces.epoch.u
    }

    /// Within-epoch step of the pre neuron's last spike in the epoch (0 if
    /// none): x0 is 1 where this is positive.
    pub fn pre_spike_step(&self, pre: usize) -> Option<u8> {
        self.traces.epoch.tx.get(pre).copied()
    }

    /// Within-epoch step of the post neuron's last spike (0 if none).
    pub fn post_spike_step(&self, post: usize) -> Option<u8> {
        self.traces.epoch.ty.get(post).copied()
    }

    /// A trace's value at within-epoch step `h` (0 = the start of the
    /// epoch, `t_epoch` = its end), impulses included.
    pub fn history(&self, trace: Trace, h: usize, neuron: usize) -> Option<i32> {
        let n = self.traces.values[trace.index()].len();
        if neuron >= n || h > self.traces.t_epoch as usize {
            return None;
        }
        self.traces.epoch.history[trace.index()]
            .get(h * n + neuron)
            .copied()
    }

    /// The random number that rounds this epoch's synaptic updates.
    pub fn synaptic_random(&self) -> f64 {
        self.traces.epoch.r_synaptic
    }

    pub(crate) fn data(&self) -> &EpochData {
        &self.traces.epoch
    }

    pub(crate) fn t_epoch(&self) -> usize {
        self.traces.t_epoch as usize
    }
}
