//! Weight matrices from NumPy `.npy` files.

use std::path::Path;

use npyz::{DType, NpyFile, Order, TypeChar};

/// Reads a 2-D array of integers (any integer dtype, or floats holding whole
/// numbers) as rows. Errors are reasons, ready to be placed after the item.
pub(crate) fn read_matrix(path: &Path) -> Result<Vec<Vec<i64>>, String> {
    let shown = path.display();
    let (layout, values) = read(
        path,
        "integers (or 32/64-bit floats holding whole numbers)",
        false,
    )?;
    let values = match values {
        Values::Int(values) => values,
        Values::Float(values) => whole(values.into_iter(), &shown)?,
    };
    Ok(layout.rows(&values))
}

/// Reads a 2-D array of numbers (any integer or float dtype) as rows of
/// floats, for weights in physical units: every value must be finite.
pub(crate) fn read_float_matrix(path: &Path) -> Result<Vec<Vec<f64>>, String> {
    read_numbers(path, "integers or 32/64-bit floats", false)
}

/// Reads a 2-D spike raster: booleans (numpy's usual spike arrays) or any
/// number type, as rows of floats (nonzero: a spike).
pub(crate) fn read_spike_matrix(path: &Path) -> Result<Vec<Vec<f64>>, String> {
    read_numbers(path, "booleans, integers or 32/64-bit floats", true)
}

fn read_numbers(path: &Path, expected: &str, booleans: bool) -> Result<Vec<Vec<f64>>, String> {
    let shown = path.display();
    let (layout, values) = read(path, expected, booleans)?;
    let values = match values {
        Values::Int(values) => values.into_iter().map(|v| v as f64).collect(),
        Values::Float(values) => {
            if let Some((i, v)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                return Err(format!(
                    "{shown}: element {i} is {v}; weights must be finite numbers"
                ));
            }
            values
        }
    };
    Ok(layout.rows(&values))
}

/// The data of a `.npy` file, as its dtype holds it.
enum Values {
    Int(Vec<i64>),
    Float(Vec<f64>),
}

/// The shape and order of a 2-D array read from a `.npy` file.
struct Layout {
    rows: usize,
    cols: usize,
    order: Order,
}

impl Layout {
    /// `values`, in file order, as rows `[row][col]`.
    fn rows<T: Copy>(&self, values: &[T]) -> Vec<Vec<T>> {
        let (rows, cols) = (self.rows, self.cols);
        let at = |r: usize, c: usize| match self.order {
            Order::C => values[r * cols + c],
            Order::Fortran => values[c * rows + r],
        };
        (0..rows)
            .map(|r| (0..cols).map(|c| at(r, c)).collect())
            .collect()
    }
}

/// Reads the matrix; `expected` names the dtypes the caller takes, for
/// errors; `booleans` admits numpy's bool dtype.
fn read(path: &Path, expected: &str, booleans: bool) -> Result<(Layout, Values), String> {
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
    // check_header admits only plain type strings.
    let DType::Plain(type_str) = npy.dtype() else {
        return Err(format!(
            "{shown} holds structured data; expected {expected}"
        ));
    };
    let bad_data = |e: std::io::Error| format!("{shown}: cannot read data: {e}");
    let ints = |values: Vec<i64>| Values::Int(values);
    let values = match (type_str.type_char(), type_str.size_field()) {
        (TypeChar::Int, 1) => ints(
            npy.into_vec::<i8>()
                .map_err(bad_data)?
                .into_iter()
                .map(i64::from)
                .collect(),
        ),
        (TypeChar::Int, 2) => ints(
            npy.into_vec::<i16>()
                .map_err(bad_data)?
                .into_iter()
                .map(i64::from)
                .collect(),
        ),
        (TypeChar::Int, 4) => ints(
            npy.into_vec::<i32>()
                .map_err(bad_data)?
                .into_iter()
                .map(i64::from)
                .collect(),
        ),
        (TypeChar::Int, 8) => ints(npy.into_vec::<i64>().map_err(bad_data)?),
        (TypeChar::Uint, 1) => ints(
            npy.into_vec::<u8>()
                .map_err(bad_data)?
                .into_iter()
                .map(i64::from)
                .collect(),
        ),
        (TypeChar::Uint, 2) => ints(
            npy.into_vec::<u16>()
                .map_err(bad_data)?
                .into_iter()
                .map(i64::from)
                .collect(),
        ),
        (TypeChar::Uint, 4) => ints(
            npy.into_vec::<u32>()
                .map_err(bad_data)?
                .into_iter()
                .map(i64::from)
                .collect(),
        ),
        (TypeChar::Uint, 8) => ints(
            npy.into_vec::<u64>()
                .map_err(bad_data)?
                .into_iter()
                .map(|v| {
                    i64::try_from(v)
                        .map_err(|_| format!("{shown}: value {v} does not fit 64-bit signed"))
                })
                .collect::<Result<_, _>>()?,
        ),
        // Spike rasters are often boolean arrays.
        (TypeChar::Bool, 1) if booleans => ints(
            npy.into_vec::<bool>()
                .map_err(bad_data)?
                .into_iter()
                .map(i64::from)
                .collect(),
        ),
        (TypeChar::Float, 4) => Values::Float(
            npy.into_vec::<f32>()
                .map_err(bad_data)?
                .into_iter()
                .map(f64::from)
                .collect(),
        ),
        (TypeChar::Float, 8) => Values::Float(npy.into_vec::<f64>().map_err(bad_data)?),
        _ => {
            return Err(format!("{shown} has dtype {type_str}; expected {expected}"));
        }
    };
    // check_header bounded rows × cols by the file's size.
    let layout = Layout {
        rows: rows as usize,
        cols: cols as usize,
        order,
    };
    Ok((layout, values))
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
/// written and multiplies the dimensions unchecked (a panic on overflow, or a
/// huge allocation). The header must be the plain dict NumPy writes —
/// `descr`, `fortran_order` and `shape`, each once — and the data it declares
/// must be present in the file.
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
    let Some(text) = header.get(..len) else {
        return Err(format!(
            "{shown} is not a valid .npy file: header of {len} bytes, but only {} follow",
            header.len()
        ));
    };
    let data_len = (header.len() - len) as u64;
    let text = std::str::from_utf8(text)
        .map_err(|_| format!("{shown} is not a valid .npy file: header is not text"))?;
    let dict = parse_header(text).ok_or_else(|| {
        format!(
            "{shown} has a .npy header Neurite does not read: {}",
            text.trim_end()
        )
    })?;
    let elements = dict
        .shape
        .iter()
        .try_fold(1u64, |n, &d| n.checked_mul(d))
        .ok_or_else(|| {
            format!(
                "{shown} has shape {:?}; too many elements for a weight matrix",
                dict.shape
            )
        })?;
    let item = dict.item_size.unwrap_or(1);
    if elements
        .checked_mul(item)
        .is_none_or(|needed| needed > data_len)
    {
        return Err(format!(
            "{shown}: shape {:?} needs {elements} values of {item} bytes, the file holds {data_len} bytes of data",
            dict.shape
        ));
    }
    Ok(())
}

/// The three fields of a NumPy header dict.
struct HeaderDict {
    shape: Vec<u64>,
    /// Bytes per element, when the descr is a plain type string like `<i4`.
    item_size: Option<u64>,
}

/// Parses `{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }`:
/// string keys without escapes, each of the three keys exactly once, a string,
/// a boolean and a tuple of integers. Anything else is refused.
fn parse_header(text: &str) -> Option<HeaderDict> {
    let mut rest = text.trim().strip_prefix('{')?.trim_start();
    let (mut descr, mut order, mut shape) = (None, None, None);
    loop {
        if let Some(after) = rest.strip_prefix('}') {
            if !after.trim().is_empty() {
                return None;
            }
            break;
        }
        let (key, after) = quoted(rest)?;
        rest = after.trim_start().strip_prefix(':')?.trim_start();
        match key {
            "descr" if descr.is_none() => {
                let (value, after) = quoted(rest)?;
                descr = Some(value);
                rest = after;
            }
            "fortran_order" if order.is_none() => {
                let (value, after) = if let Some(after) = rest.strip_prefix("True") {
                    (true, after)
                } else {
                    (false, rest.strip_prefix("False")?)
                };
                order = Some(value);
                rest = after;
            }
            "shape" if shape.is_none() => {
                let inner_end = rest.find(')')?;
                let inner = rest.strip_prefix('(')?.get(..inner_end - 1)?;
                let dims: Option<Vec<u64>> = inner
                    .split(',')
                    .map(str::trim)
                    .filter(|d| !d.is_empty())
                    .map(|d| d.parse().ok())
                    .collect();
                shape = Some(dims?);
                rest = &rest[inner_end + 1..];
            }
            _ => return None,
        }
        rest = rest.trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
    let descr = descr?;
    order?;
    let item_size = descr
        .get(2..)
        .and_then(|size| size.parse().ok())
        .filter(|_| descr.len() >= 3);
    Some(HeaderDict {
        shape: shape?,
        item_size,
    })
}

/// A single- or double-quoted string without escapes, and the text after it.
fn quoted(text: &str) -> Option<(&str, &str)> {
    let quote = text.chars().next().filter(|c| matches!(c, '\'' | '"'))?;
    let body = &text[1..];
    let end = body.find(quote)?;
    let value = &body[..end];
    if value.contains('\\') {
        return None;
    }
    Some((value, &body[end + 1..]))
}
