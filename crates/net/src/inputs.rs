//! Input spikes step by step: explicit lists, CSV files and generators.

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

use crate::{InputSource, Network};

/// `(line, step, index)` for each spike of a CSV file.
type CsvSpikes = Vec<(usize, i64, i64)>;

/// Parses `step,index` lines. Blank lines and `#` comments are skipped, and a
/// first line that is not numeric is taken as a header. Returns the 1-based
/// line number with each pair, or the line number and reason of the first error.
pub(crate) fn parse_csv(text: &str) -> Result<CsvSpikes, (usize, String)> {
    let mut out = Vec::new();
    let mut seen_data = false;
    for (i, line) in text.lines().enumerate() {
        let number = i + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() != 2 {
            return Err((number, format!("expected 'step,index', got '{line}'")));
        }
        match (fields[0].parse::<i64>(), fields[1].parse::<i64>()) {
            (Ok(step), Ok(index)) => {
                seen_data = true;
                out.push((number, step, index));
            }
            _ if !seen_data
                && out.is_empty()
                && !fields[0].starts_with(|c: char| c.is_ascii_digit() || c == '-') =>
            {
                // A header line such as `step,index`.
                seen_data = true;
            }
            _ => return Err((number, format!("expected two integers, got '{line}'"))),
        }
    }
    Ok(out)
}

// One state per input source: a few at most, so the generator stays inline.
#[allow(clippy::large_enum_variant)]
enum SourceState {
    Spikes {
        spikes: Vec<(u64, u32)>,
        next: usize,
    },
    Poisson {
        threshold: Option<u64>,
        rng: ChaCha8Rng,
    },
    Periodic {
        period: u64,
        phase: u64,
    },
}

/// The spikes of every input population, one step at a time, starting at step 1.
///
/// Generators are streams: the spikes of step t do not depend on how many
/// steps the run will have.
pub struct InputStream {
    sources: Vec<(usize, u32, SourceState)>,
    populations: usize,
    step: u64,
}

impl std::fmt::Debug for InputStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InputStream")
            .field("sources", &self.sources.len())
            .field("step", &self.step)
            .finish()
    }
}

impl InputStream {
    /// A stream positioned before step 1.
    pub fn new(network: &Network) -> Self {
        let sources = network
            .inputs
            .iter()
            .map(|input| {
                let size = network.populations[input.population].size;
                let state = match &input.source {
                    InputSource::Spikes(spikes) => SourceState::Spikes {
                        spikes: spikes.clone(),
                        next: 0,
                    },
                    InputSource::Poisson { probability, seed } => SourceState::Poisson {
                        // A draw below `threshold` is a spike; None means always.
                        threshold: if *probability >= 1.0 {
                            None
                        } else {
                            Some((probability * 18_446_744_073_709_551_616.0) as u64)
                        },
                        rng: ChaCha8Rng::seed_from_u64(*seed),
                    },
                    InputSource::Periodic { period, phase } => SourceState::Periodic {
                        period: *period,
                        phase: *phase,
                    },
                };
                (input.population, size, state)
            })
            .collect();
        Self {
            sources,
            populations: network.populations.len(),
            step: 0,
        }
    }

    /// The step whose spikes the last call to [`InputStream::advance`] produced.
    pub fn step(&self) -> u64 {
        self.step
    }

    /// Moves to the next step and writes its spikes: `spikes[p]` receives the
    /// sorted, distinct indices of input population `p` that spike (other
    /// entries are cleared). `spikes` is resized to the number of populations.
    pub fn advance(&mut self, spikes: &mut Vec<Vec<u32>>) {
        self.step += 1;
        let step = self.step;
        spikes.resize_with(self.populations, Vec::new);
        spikes.iter_mut().for_each(Vec::clear);
        for (population, size, state) in &mut self.sources {
            let out = &mut spikes[*population];
            match state {
                SourceState::Spikes { spikes, next } => {
                    while let Some(&(s, index)) = spikes.get(*next) {
                        if s > step {
                            break;
                        }
                        if s == step {
                            out.push(index);
                        }
                        *next += 1;
                    }
                }
                SourceState::Poisson { threshold, rng } => {
                    for index in 0..*size {
                        let draw = rng.next_u64();
                        if threshold.is_none_or(|t| draw < t) {
                            out.push(index);
                        }
                    }
                }
                SourceState::Periodic { period, phase } => {
                    if step % *period == *phase % *period {
                        out.extend(0..*size);
                    }
                }
            }
        }
        // Two sources may name the same neuron.
        if self.sources.len() > 1 {
            for out in spikes.iter_mut() {
                out.sort_unstable();
                out.dedup();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(toml: &str) -> Network {
        let head = r#"
            [[populations]]
            name = "in"
            size = 4
            model = "input"
        "#;
        crate::from_toml_str(&format!("{head}{toml}"), "t.toml", None).expect("valid")
    }

    fn run(network: &Network, steps: u64) -> Vec<Vec<u32>> {
        let mut stream = InputStream::new(network);
        let mut buf = Vec::new();
        (0..steps)
            .map(|_| {
                stream.advance(&mut buf);
                buf[0].clone()
            })
            .collect()
    }

    #[test]
    fn explicit_spikes_arrive_at_their_steps() {
        let n = net("[[inputs]]\npopulation = \"in\"\nspikes = [[3, 1], [1, 0], [3, 2], [3, 1]]");
        let got = run(&n, 4);
        assert_eq!(got, vec![vec![0], vec![], vec![1, 2], vec![]]);
    }

    #[test]
    fn periodic_fires_on_phase() {
        let n = net("[[inputs]]\npopulation = \"in\"\nperiodic = { period = 3, phase = 2 }");
        let got = run(&n, 6);
        let all = vec![0, 1, 2, 3];
        assert_eq!(got, vec![vec![], all.clone(), vec![], vec![], all, vec![]]);
        // Phase 0 means steps 3, 6, ...: step 0 does not exist.
        let n = net("[[inputs]]\npopulation = \"in\"\nperiodic = { period = 3 }");
        assert_eq!(run(&n, 3)[2].len(), 4);
        assert!(run(&n, 3)[0].is_empty());
    }

    #[test]
    fn poisson_is_seeded_and_near_its_rate() {
        let text = "[[inputs]]\npopulation = \"in\"\npoisson = { rate_hz = 100.0, seed = 5 }";
        let a = run(&net(text), 2000);
        assert_eq!(a, run(&net(text), 2000));
        // 4 × 2000 draws at p = 0.1: mean 800, sd ≈ 27.
        let total: usize = a.iter().map(Vec::len).sum();
        assert!((total as i64 - 800).abs() < 140, "{total}");
        let other = run(
            &net("[[inputs]]\npopulation = \"in\"\npoisson = { rate_hz = 100.0, seed = 6 }"),
            2000,
        );
        assert_ne!(a, other);
    }

    #[test]
    fn poisson_at_full_rate_spikes_every_step() {
        // dt_ms is a top-level key: it must come before the first table.
        let text = "dt_ms = 2.0\n[[populations]]\nname = \"in\"\nsize = 4\nmodel = \"input\"\n\
                    [[inputs]]\npopulation = \"in\"\npoisson = { rate_hz = 500.0, seed = 1 }";
        let n = crate::from_toml_str(text, "t.toml", None).expect("valid");
        assert!(run(&n, 10).iter().all(|s| s.len() == 4));
    }

    #[test]
    fn several_sources_merge_without_repeats() {
        let n = net(
            "[[inputs]]\npopulation = \"in\"\nspikes = [[2, 3], [2, 1]]\n\
             [[inputs]]\npopulation = \"in\"\nspikes = [[2, 1], [1, 0]]",
        );
        assert_eq!(run(&n, 2), vec![vec![0], vec![1, 3]]);
    }

    #[test]
    fn csv_accepts_header_comments_and_blank_lines() {
        let parsed = parse_csv("step,index\n# note\n\n1,0\n 2 , 3 \n").expect("parses");
        assert_eq!(parsed, vec![(4, 1, 0), (5, 2, 3)]);
        assert_eq!(parse_csv("1,0\n2;3\n").expect_err("bad separator").0, 2);
        assert_eq!(parse_csv("1,0\nx,3\n").expect_err("not a number").0, 2);
        assert_eq!(parse_csv("1,2,3\n").expect_err("three fields").0, 1);
    }
}
