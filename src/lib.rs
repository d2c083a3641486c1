//! Neurite: compile spiking networks for Loihi-style neuromorphic chips and
//! run them bit-exactly on the bundled emulator.
//!
//! This crate is the `neurite` command line and a thin facade over the
//! workspace: the description ([`net`]), chip profiles ([`chip`]), the Program
//! ([`program`]), the compiler ([`compiler`]), the emulator ([`emulator`]) and
//! NIR import ([`nir`]),
//! plus [`session`], which runs a description end to end and records its probes.
//!
//! ```
//! let net = neurite::net::from_toml_str(r#"
//!     [[populations]]
//!     name = "n"
//!     size = 1
//!     model = "lif"
//!     du = 0
//!     dv = 0
//!     vth = 1
//!     bias_mant = 1
//!     [[probes]]
//!     population = "n"
//!     vars = ["spikes", "v"]
//! "#, "n.toml", None).unwrap();
//! let chip = neurite::chip::ChipProfile::loihi2();
//! let recording = neurite::session::run(&net, &chip, 70).unwrap();
//! let n = &recording.populations[0];
//! assert_eq!(n.spikes.as_ref().unwrap()[64], vec![0]); // step 65
//! assert_eq!(n.v.as_ref().unwrap()[65], vec![1]);
//! ```

pub mod energy;
pub mod inspect;
pub mod output;
pub mod session;

pub use neurite_chip as chip;
pub use neurite_compiler as compiler;
pub use neurite_emulator as emulator;
pub use neurite_net as net;
pub use neurite_nir as nir;
pub use neurite_program as program;
