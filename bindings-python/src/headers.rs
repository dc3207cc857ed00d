//! A request's header fields, from whatever Python object holds them, fed to the facade's
//! one header lookup ([`ReceivedHeaders`]): names are matched (case-insensitively) and
//! repeated fields combined there, never here.
//!
//! Accepted: a `dict` (iterated directly) or any mapping (its `items()`), a list or tuple
//! of (name, value) pairs, Starlette / FastAPI / httpx `Headers` (their `.raw` list,
//! which keeps repeated fields), Werkzeug / Flask `Headers` and `EnvironHeaders`, Django's
//! `request.headers`. A value that is a list or tuple is a repeated field, each element
//! one field in order; `None` values are skipped.

use fluxora_webhooks_facade::{ContractHeader, REQUEST_OBJECT_HINT, ReceivedHeaders};
use pyo3::exceptions::PyTypeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyInt, PyList, PyString, PyTuple};

use crate::text::Utf8;

/// The contract headers of one request: every field of `headers`, then the explicitly
/// given `delivery_id=` / `timestamp=` / `signature=` values, which replace the map's.
pub(crate) fn received(
    headers: Option<&Bound<'_, PyAny>>,
    explicit: [(ContractHeader, Option<&Bound<'_, PyAny>>); 3],
) -> PyResult<ReceivedHeaders> {
    let mut received = ReceivedHeaders::new();
    if let Some(headers) = headers.filter(|headers| !headers.is_none()) {
        gather(&mut received, headers)?;
    }
    for (header, value) in explicit {
        if let Some(value) = value.filter(|value| !value.is_none()) {
            let bytes = ValueBytes::of(value, header)?;
            received.set(header, Some(bytes.as_slice()));
        }
    }
    Ok(received)
}

/// Feeds every field of `headers` to `received`.
fn gather(received: &mut ReceivedHeaders, headers: &Bound<'_, PyAny>) -> PyResult<()> {
    let py = headers.py();
    if let Ok(dict) = headers.cast::<PyDict>() {
        for (name, value) in dict.iter() {
            field(received, &name, &value)?;
        }
        return Ok(());
    }
    if let Ok(list) = headers.cast::<PyList>() {
        return list.iter().try_for_each(|item| pair(received, &item));
    }
    if let Ok(tuple) = headers.cast::<PyTuple>() {
        return tuple.iter().try_for_each(|item| pair(received, &item));
    }
    // A request object (Starlette's is even a mapping) rather than its headers.
    if headers.getattr_opt(intern!(py, "headers"))?.is_some() {
        return Err(not_headers());
    }
    // Starlette / httpx `Headers`: the raw (name, value) list keeps repeated fields.
    if let Some(raw) = headers.getattr_opt(intern!(py, "raw"))? {
        if let Ok(list) = raw.cast::<PyList>() {
            return list.iter().try_for_each(|item| pair(received, &item));
        }
        if let Ok(tuple) = raw.cast::<PyTuple>() {
            return tuple.iter().try_for_each(|item| pair(received, &item));
        }
    }
    // Any other mapping (Werkzeug, Django, ...) through items(); else an iterable of pairs.
    let items = match headers.getattr_opt(intern!(py, "items"))? {
        Some(items) => items.call0()?,
        None => headers.clone(),
    };
    let iterator = items.try_iter().map_err(|_| not_headers())?;
    for item in iterator {
        pair(received, &item?)?;
    }
    Ok(())
}

/// One (name, value) pair: a 2-tuple or a 2-item list.
fn pair(received: &mut ReceivedHeaders, item: &Bound<'_, PyAny>) -> PyResult<()> {
    if let Ok(tuple) = item.cast::<PyTuple>()
        && tuple.len() == 2
    {
        return field(received, &tuple.get_item(0)?, &tuple.get_item(1)?);
    }
    if let Ok(list) = item.cast::<PyList>()
        && list.len() == 2
    {
        return field(received, &list.get_item(0)?, &list.get_item(1)?);
    }
    Err(not_headers())
}

/// One header field. Names that are not `str` or `bytes` cannot be a contract header;
/// values are converted only for contract headers (the facade's name match), so the
/// other fields of a request cost one comparison each.
fn field(
    received: &mut ReceivedHeaders,
    name: &Bound<'_, PyAny>,
    value: &Bound<'_, PyAny>,
) -> PyResult<()> {
    let header = if let Ok(name) = name.cast::<PyString>() {
        ContractHeader::of(Utf8::of(name).as_bytes())
    } else if let Ok(name) = name.cast::<PyBytes>() {
        ContractHeader::of(name.as_bytes())
    } else {
        None
    };
    let Some(header) = header else {
        return Ok(());
    };
    let mut append = |value: &Bound<'_, PyAny>| -> PyResult<()> {
        if !value.is_none() {
            received.append(header, ValueBytes::of(value, header)?.as_slice());
        }
        Ok(())
    };
    if let Ok(values) = value.cast::<PyList>() {
        values.iter().try_for_each(|value| append(&value))
    } else if let Ok(values) = value.cast::<PyTuple>() {
        values.iter().try_for_each(|value| append(&value))
    } else {
        append(value)
    }
}

/// What is raised for an object that holds no header fields (a request object, a
/// number, a list of names).
fn not_headers() -> PyErr {
    PyTypeError::new_err(REQUEST_OBJECT_HINT)
}

/// A header value's bytes, borrowed from the Python object whenever possible.
pub(crate) enum ValueBytes<'a, 'py> {
    /// A `str`, as UTF-8 (lossy for a lone surrogate, which no header byte can be).
    Text(Utf8<'a, 'py>),
    /// A `bytes` object, as is.
    Bytes(&'a [u8]),
    /// An `int`, in decimal.
    Digits(String),
}

impl<'a, 'py> ValueBytes<'a, 'py> {
    /// `str` as UTF-8, `bytes` as is, `int` in decimal; anything else is a `TypeError`
    /// naming the header.
    pub(crate) fn of(value: &'a Bound<'py, PyAny>, header: ContractHeader) -> PyResult<Self> {
        if let Ok(text) = value.cast::<PyString>() {
            return Ok(Self::Text(Utf8::of(text)));
        }
        if let Ok(bytes) = value.cast::<PyBytes>() {
            return Ok(Self::Bytes(bytes.as_bytes()));
        }
        if let Ok(number) = value.cast::<PyInt>()
            && !number.is_instance_of::<PyBool>()
        {
            let digits = match number.extract::<i128>() {
                Ok(number) => number.to_string(),
                Err(_) => number.str()?.to_string_lossy().into_owned(),
            };
            return Ok(Self::Digits(digits));
        }
        Err(PyTypeError::new_err(format!(
            "{} must be str, bytes or int",
            header.name()
        )))
    }

    /// The bytes.
    pub(crate) fn as_slice(&self) -> &[u8] {
        match self {
            Self::Text(text) => text.as_bytes(),
            Self::Bytes(bytes) => bytes,
            Self::Digits(digits) => digits.as_bytes(),
        }
    }
}
