//! Weight matrices from NumPy `.npy` files.

use std::path::Path;

use npyz::{DType, NpyFile, Order, TypeChar};

/// Reads a 2-D array of integers (any integer dtype, or floats holding whole
/// numbers) as rows. Errors are reasons, ready to be placed after the item.
pub(crate) fn read_matrix(path: &Path) -> Result<Vec<Vec<i64>>, String> {
    let shown = path.display();
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    check_header(&bytes, &shown)?;
    let npy =
        NpyFile::new(&bytes[..]).map_err(|e| format!("{shown} is not a valid .npy file: {e}"))?;
    let shape = npy.shape().to_vec();
    let [rows, cols] = shape[..] else {
        return Err(format!(
            "{shown} has shape {shape:?}; a weight matrix needs two dimensions [to, from]"
        ));
    };
    let order = npy.order();
    let DType::Plain(type_str) = npy.dtype() else {
        return Err(format!("{shown} holds structured data; expected integers"));
    };
    let bad_data = |e: std::io::Error| format!("{shown}: cannot read data: {e}");
    let values: Vec<i64> = match (type_str.type_char(), type_str.size_field()) {
        (TypeChar::Int, 1) => npy
            .into_vec::<i8>()
            .map_err(bad_data)?
            .into_iter()
            .map(i64::from)
            .collect(),
        (TypeChar::Int, 2) => npy
            .into_vec::<i16>()
            .map_err(bad_data)?
            .into_iter()
            .map(i64::from)
            .collect(),
        (TypeChar::Int, 4) => npy
            .into_vec::<i32>()
            .map_err(bad_data)?
            .into_iter()
            .map(i64::from)
            .collect(),
        (TypeChar::Int, 8) => npy.into_vec::<i64>().map_err(bad_data)?,
        (TypeChar::Uint, 1) => npy
            .into_vec::<u8>()
            .map_err(bad_data)?
            .into_iter()
            .map(i64::from)
            .collect(),
        (TypeChar::Uint, 2) => npy
            .into_vec::<u16>()
            .map_err(bad_data)?
            .into_iter()
            .map(i64::from)
            .collect(),
        (TypeChar::Uint, 4) => npy
            .into_vec::<u32>()
            .map_err(bad_data)?
            .into_iter()
            .map(i64::from)
            .collect(),
        (TypeChar::Uint, 8) => npy
            .into_vec::<u64>()
            .map_err(bad_data)?
            .into_iter()
            .map(|v| {
                i64::try_from(v)
                    .map_err(|_| format!("{shown}: value {v} does not fit 64-bit signed"))
            })
            .collect::<Result<_, _>>()?,
        (TypeChar::Float, 4) => whole(
            npy.into_vec::<f32>()
                .map_err(bad_data)?
                .into_iter()
                .map(f64::from),
            &shown,
        )?,
        (TypeChar::Float, 8) => {
            whole(npy.into_vec::<f64>().map_err(bad_data)?.into_iter(), &shown)?
        }
        _ => {
            return Err(format!(
                "{shown} has dtype {type_str}; expected integers (or 32/64-bit floats holding whole numbers)"
            ));
        }
    };
    let (rows, cols) = (rows as usize, cols as usize);
    if values.len() != rows * cols {
        return Err(format!(
            "{shown}: expected {} values for shape [{rows}, {cols}], found {}",
            rows * cols,
            values.len()
        ));
    }
    let at = |r: usize, c: usize| match order {
        Order::C => values[r * cols + c],
        Order::Fortran => values[c * rows + r],
    };
    Ok((0..rows)
        .map(|r| (0..cols).map(|c| at(r, c)).collect())
        .collect())
}

fn whole(
    values: impl Iterator<Item = f64>,
    shown: &std::path::Display<'_>,
) -> Result<Vec<i64>, String> {
    values
        .enumerate()
        .map(|(i, v)| {
            if v.is_finite() && v.fract() == 0.0 && v.abs() < 9.0e15 {
                Ok(v as i64)
            } else {
                Err(format!(
                    "{shown}: element {i} is {v}; weights must be whole numbers on the 8-bit scale"
                ))
            }
        })
        .collect()
}

/// Checks what npyz would trust blindly: it allocates the header length as
/// written and multiplies the dimensions unchecked (a panic on overflow).
fn check_header(bytes: &[u8], shown: &std::path::Display<'_>) -> Result<(), String> {
    let Some(rest) = bytes.strip_prefix(b"\x93NUMPY") else {
        return Ok(()); // npyz reports the missing magic
    };
    let (len, header) = match rest {
        [1, _, a, b, header @ ..] => (usize::from(u16::from_le_bytes([*a, *b])), header),
        [2 | 3, _, a, b, c, d, header @ ..] => {
            (u32::from_le_bytes([*a, *b, *c, *d]) as usize, header)
        }
        _ => return Ok(()),
    };
    let Some(header) = header.get(..len) else {
        return Err(format!(
            "{shown} is not a valid .npy file: header of {len} bytes, but only {} follow",
            header.len()
        ));
    };
    let header = String::from_utf8_lossy(header);
    let Some(shape) = declared_shape(&header) else {
        return Ok(());
    };
    // Every partial product npyz forms is at most the product of the nonzero dimensions.
    if shape
        .iter()
        .try_fold(1u64, |n, &d| n.checked_mul(d.max(1)))
        .is_none()
    {
        return Err(format!(
            "{shown} has shape {shape:?}; too many elements for a weight matrix"
        ));
    }
    Ok(())
}

/// The dimensions after `'shape':` in a header dict, if written as plain integers.
fn declared_shape(header: &str) -> Option<Vec<u64>> {
    let after = ["'shape'", "\"shape\""].iter().find_map(|key| {
        header.match_indices(key).find_map(|(at, _)| {
            header[at + key.len()..]
                .trim_start()
                .strip_prefix(':')
                .map(str::trim_start)
        })
    })?;
    let close = match after.chars().next()? {
        '(' => ')',
        '[' => ']',
        _ => return None,
    };
    let inner = &after[1..after.find(close)?];
    inner
        .split(',')
        .map(|d| d.trim().trim_end_matches(['L', 'l']).replace('_', ""))
        .filter(|d| !d.is_empty())
        .map(|d| match d.get(..2) {
            Some("0x" | "0X") => u64::from_str_radix(&d[2..], 16).ok(),
            Some("0o" | "0O") => u64::from_str_radix(&d[2..], 8).ok(),
            Some("0b" | "0B") => u64::from_str_radix(&d[2..], 2).ok(),
            _ => d.parse().ok(),
        })
        .collect()
}
