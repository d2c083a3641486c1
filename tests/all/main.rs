//! End-to-end tests, linked into one binary to keep link time down.

mod architecture;
mod bandit;
mod board;
mod cli;
mod compile_golden;
mod differential;
mod energy;
mod golden;
mod hostile;
mod lava;
mod learning;
mod nir;
mod support;
mod threads;
