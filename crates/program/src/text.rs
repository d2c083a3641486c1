//! A readable text form of a Program, for people and golden files.

use std::fmt::{self, Write};

use crate::{Program, Reset, SignMode};

impl Program {
    /// The Program as text, one table entry per line; stable across runs,
    /// so that a change in it is a change in the Program.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = self.write_text(&mut out);
        out
    }

    fn write_text(&self, out: &mut String) -> fmt::Result {
        writeln!(
            out,
            "program for chip '{}', network '{}'",
            self.chip, self.notes.network
        )?;
        for (c, core) in self.cores.iter().enumerate() {
            writeln!(
                out,
                "core {c} at location {}: {} neurons, {} axons, {} synapses, {} destinations",
                core.location,
                core.neurons.len(),
                core.axons.len(),
                core.synapses.len(),
                core.destinations.len()
            )?;
            for (i, p) in core.profiles.iter().enumerate() {
                // The default reset is left out, so that older texts still match.
                let reset = match p.reset {
                    Reset::Zero => "",
                    Reset::Subtract => " reset subtract",
                };
                writeln!(
                    out,
                    "  profile {i}: {:?} du {} dv {} vth {} refractory {}{reset}",
                    p.model, p.du, p.dv, p.vth, p.refractory
                )?;
            }
            let n = &core.neurons;
            for i in 0..n.len() {
                writeln!(
                    out,
                    "  neuron {i}: profile {} bias {}<<{} u {} v {}",
                    n.profile[i].0, n.bias_mant[i], n.bias_exp[i], n.u[i], n.v[i]
                )?;
            }
            for (i, g) in core.groups.iter().enumerate() {
                let mode = match g.sign_mode {
                    SignMode::Mixed => "mixed",
                    SignMode::Excitatory => "excitatory",
                    SignMode::Inhibitory => "inhibitory",
                };
                writeln!(
                    out,
                    "  group {i}: weight_exp {} bits {} {mode} {:?} max_delay {}{}",
                    g.weight_exp,
                    g.num_weight_bits,
                    g.kind,
                    g.max_delay,
                    g.learning
                        .map_or(String::new(), |l| format!(" learning {l}"))
                )?;
            }
            for (i, lg) in core.learning.iter().enumerate() {
                let rule = &lg.rule;
                write!(
                    out,
                    "  learning {i}: projection '{}' group {} epoch {} seed {}",
                    lg.projection, lg.group.0, rule.t_epoch, rule.rng_seed
                )?;
                for (name, text) in ["dw", "dd", "dt"].iter().zip(&rule.rules) {
                    if let Some(text) = text {
                        write!(out, " {name} = {text};")?;
                    }
                }
                for (name, t) in ["x1", "x2", "y1", "y2", "y3"].iter().zip(&rule.traces) {
                    let (impulse, tau, _) = t.values();
                    write!(out, " {name} {impulse}/{tau}")?;
                }
                if let Some(m) = lg.neuromodulator {
                    write!(out, " neuromodulator {m}")?;
                }
                writeln!(
                    out,
                    " pre {} of {} post {} of {}",
                    lg.pre.len(),
                    lg.n_pre,
                    lg.post.len(),
                    lg.n_post
                )?;
            }
            for (a, run) in core.axons.iter().enumerate() {
                write!(out, "  axon {a}:")?;
                for s in core.synapses.get(run.range()).unwrap_or(&[]) {
                    write!(
                        out,
                        " n{} w{} d{} g{};",
                        s.target.0, s.weight, s.delay, s.group.0
                    )?;
                }
                writeln!(out)?;
            }
            for (i, run) in core.routes.iter().enumerate() {
                let targets = core.destinations.get(run.range()).unwrap_or(&[]);
                if targets.is_empty() {
                    continue;
                }
                write!(out, "  route n{i} ->")?;
                for d in targets {
                    write!(out, " c{}.a{}", d.core.0, d.axon.0)?;
                }
                writeln!(out)?;
            }
        }
        for port in &self.inputs {
            writeln!(
                out,
                "input '{}': {} channels",
                port.name,
                port.channels.len()
            )?;
            for channel in 0..port.channels.len() {
                let targets = port.channel(channel);
                if targets.is_empty() {
                    continue;
                }
                write!(out, "  channel {channel} ->")?;
                for d in targets {
                    write!(out, " c{}.a{}", d.core.0, d.axon.0)?;
                }
                writeln!(out)?;
            }
        }
        for modulator in &self.neuromodulators {
            write!(out, "neuromodulator '{}':", modulator.name)?;
            for (a, w) in &modulator.sources {
                write!(out, " c{}.n{}*{w}", a.core.0, a.neuron.0)?;
            }
            writeln!(out)?;
        }
        for population in &self.populations {
            write!(
                out,
                "population '{}'{}:",
                population.name,
                if population.report_spikes {
                    " (reports spikes)"
                } else {
                    ""
                }
            )?;
            for a in &population.neurons {
                write!(out, " c{}.n{}", a.core.0, a.neuron.0)?;
            }
            writeln!(out)?;
        }
        Ok(())
    }
}
