//! Writing a [`Recording`]: spikes as CSV, u and v as NumPy arrays, or the
//! whole record as one JSON document.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use npyz::WriterBuilder;
use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::session::{PopulationRecord, Recording};

/// Writes `step,population,index` rows for every population whose spikes
/// were recorded, in step order.
pub fn write_spikes_csv(recording: &Recording, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "step,population,index")?;
    for step in 0..recording.steps as usize {
        for population in &recording.populations {
            if let Some(spikes) = &population.spikes {
                for index in &spikes[step] {
                    writeln!(out, "{},{},{index}", step + 1, population.name)?;
                }
            }
        }
    }
    Ok(())
}

/// Writes a `[steps × neurons]` int32 array in `.npy` format.
pub fn write_npy(rows: &[Vec<i32>], neurons: u32, out: impl Write) -> io::Result<()> {
    let mut writer = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&[rows.len() as u64, u64::from(neurons)])
        .writer(out)
        .begin_nd()?;
    for row in rows {
        writer.extend(row.iter().copied())?;
    }
    writer.finish()
}

/// Writes `spikes.csv` and `<population>_u.npy` / `<population>_v.npy` for
/// every probed variable into `dir` (created if needed). Returns the files.
pub fn write_dir(recording: &Recording, dir: &Path) -> io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    let path = dir.join("spikes.csv");
    let mut out = BufWriter::new(File::create(&path)?);
    write_spikes_csv(recording, &mut out)?;
    out.flush()?;
    written.push(path);
    for population in &recording.populations {
        for (var, rows) in [("u", &population.u), ("v", &population.v)] {
            if let Some(rows) = rows {
                let path = dir.join(format!("{}_{var}.npy", population.name));
                let mut out = BufWriter::new(File::create(&path)?);
                write_npy(rows, population.size, &mut out)?;
                out.flush()?;
                written.push(path);
            }
        }
    }
    Ok(written)
}

/// The JSON document of `neurite run --json`:
/// `{"steps": N, "populations": {"<name>": {"spikes": [[…], …], "u": […], "v": […]}}`
/// with the probed variables of each probed population, in description order.
#[derive(Debug)]
pub struct JsonRecording<'a>(pub &'a Recording);

struct JsonPopulations<'a>(&'a [PopulationRecord]);
struct JsonPopulation<'a>(&'a PopulationRecord);

impl Serialize for JsonRecording<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("steps", &self.0.steps)?;
        map.serialize_entry("populations", &JsonPopulations(&self.0.populations))?;
        map.end()
    }
}

impl Serialize for JsonPopulations<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let probed = self
            .0
            .iter()
            .filter(|p| p.spikes.is_some() || p.u.is_some() || p.v.is_some());
        let mut map = serializer.serialize_map(None)?;
        for population in probed {
            map.serialize_entry(&population.name, &JsonPopulation(population))?;
        }
        map.end()
    }
}

impl Serialize for JsonPopulation<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let p = self.0;
        let mut map = serializer.serialize_map(None)?;
        if let Some(spikes) = &p.spikes {
            map.serialize_entry("spikes", spikes)?;
        }
        if let Some(u) = &p.u {
            map.serialize_entry("u", u)?;
        }
        if let Some(v) = &p.v {
            map.serialize_entry("v", v)?;
        }
        map.end()
    }
}

/// Writes the JSON document followed by a newline.
pub fn write_json(recording: &Recording, out: &mut impl Write) -> io::Result<()> {
    serde_json::to_writer(&mut *out, &JsonRecording(recording))?;
    writeln!(out)
}
