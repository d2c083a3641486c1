//! Weight matrices from NumPy `.npy` files.

use std::path::Path;

use npyz::{DType, NpyFile, Order, TypeChar};

/// Reads a 2-D array of integers (any integer dtype, or floats holding whole
/// numbers) as rows. Errors are reasons, ready to be placed after the item.
pub(crate) fn read_matrix(path: &Path) -> Result<Vec<Vec<i64>>, String> {
    let shown = path.display();
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let npy = NpyFile::new(&bytes[..]).map_err(|e| format!("{shown} is not a valid .npy file: {e}"))?;
    let shape = npy.shape().to_vec();
    let [rows, cols] = shape[..] else {
        return Err(format!("{shown} has shape {shape:?}; a weight matrix needs two dimensions [to, from]"));
    };
    let order = npy.order();
    let DType::Plain(type_str) = npy.dtype() else {
        return Err(format!("{shown} holds structured data; expected integers"));
    };
    let bad_data = |e: std::io::Error| format!("{shown}: cannot read data: {e}");
    let values: Vec<i64> = match (type_str.type_char(), type_str.size_field()) {
        (TypeChar::Int, 1) => npy.into_vec::<i8>().map_err(bad_data)?.into_iter().map(i64::from).collect(),
        (TypeChar::Int, 2) => npy.into_vec::<i16>().map_err(bad_data)?.into_iter().map(i64::from).collect(),
        (TypeChar::Int, 4) => npy.into_vec::<i32>().map_err(bad_data)?.into_iter().map(i64::from).collect(),
        (TypeChar::Int, 8) => npy.into_vec::<i64>().map_err(bad_data)?,
        (TypeChar::Uint, 1) => npy.into_vec::<u8>().map_err(bad_data)?.into_iter().map(i64::from).collect(),
        (TypeChar::Uint, 2) => npy.into_vec::<u16>().map_err(bad_data)?.into_iter().map(i64::from).collect(),
        (TypeChar::Uint, 4) => npy.into_vec::<u32>().map_err(bad_data)?.into_iter().map(i64::from).collect(),
        (TypeChar::Uint, 8) => npy
            .into_vec::<u64>()
            .map_err(bad_data)?
            .into_iter()
            .map(|v| i64::try_from(v).map_err(|_| format!("{shown}: value {v} does not fit 64-bit signed")))
            .collect::<Result<_, _>>()?,
        (TypeChar::Float, 4) => whole(npy.into_vec::<f32>().map_err(bad_data)?.into_iter().map(f64::from), &shown)?,
        (TypeChar::Float, 8) => whole(npy.into_vec::<f64>().map_err(bad_data)?.into_iter(), &shown)?,
        _ => return Err(format!("{shown} has dtype {type_str}; expected integers")),
    };
    let (rows, cols) = (rows as usize, cols as usize);
    if values.len() != rows * cols {
        return Err(format!("{shown}: expected {} values for shape [{rows}, {cols}], found {}", rows * cols, values.len()));
    }
    let at = |r: usize, c: usize| match order {
        Order::C => values[r * cols + c],
        Order::Fortran => values[c * rows + r],
    };
    Ok((0..rows).map(|r| (0..cols).map(|c| at(r, c)).collect()).collect())
}

fn whole(values: impl Iterator<Item = f64>, shown: &std::path::Display<'_>) -> Result<Vec<i64>, String> {
    values
        .enumerate()
        .map(|(i, v)| {
            if v.is_finite() && v.fract() == 0.0 && v.abs() < 9.0e15 {
                Ok(v as i64)
            } else {
                Err(format!("{shown}: element {i} is {v}; weights must be whole numbers on the 8-bit scale"))
            }
        })
        .collect()
}
