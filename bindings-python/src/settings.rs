//! Python values as the facade's loose settings, and the one function that raises a
//! facade [`SettingsError`](facade::SettingsError) as `fluxora_webhooks.SettingsError`.
//!
//! Nothing here decides whether a value is acceptable: ranges, defaults, types and the
//! error texts are the facade's ([`facade::Settings::from_input`] and friends).

use fluxora_webhooks_facade::{self as facade, Loose, Problem, Spelling};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyString, PyTuple, PyType};

use crate::text::Utf8;

pyo3::create_exception!(
    fluxora_webhooks,
    SettingsError,
    PyValueError,
    "A setting cannot be used. `.field` is the keyword it is about (e.g. `tolerance_seconds`), `.problem` one of `missing`, `wrong_type`, `not_whole`, `out_of_range`, `invalid_text`. Never shows the value."
);

/// `SettingsTypeError(SettingsError, TypeError)`, created once at module import (a
/// class with two bases, which `create_exception!` cannot declare).
static SETTINGS_TYPE_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// The `SettingsTypeError` class.
pub(crate) fn settings_type_error(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    SETTINGS_TYPE_ERROR
        .get_or_try_init(py, || {
            let bases = PyTuple::new(
                py,
                [py.get_type::<SettingsError>(), py.get_type::<PyTypeError>()],
            )?;
            let namespace = PyDict::new(py);
            namespace.set_item(intern!(py, "__module__"), "fluxora_webhooks")?;
            namespace.set_item(
                intern!(py, "__doc__"),
                "A setting of the wrong type (`problem == \"wrong_type\"`): both a `SettingsError` and a `TypeError`.",
            )?;
            let class = py
                .get_type::<PyType>()
                .call1(("SettingsTypeError", bases, namespace))?;
            Ok(class.cast_into::<PyType>()?.unbind())
        })
        .map(|class| class.bind(py))
}

/// A facade settings error as the Python exception: `SettingsTypeError` for a value of the
/// wrong type, `SettingsError` otherwise. The one place settings errors are raised.
pub(crate) fn settings_error(py: Python<'_>, error: facade::SettingsError) -> PyErr {
    let message = error.message(Spelling::Python);
    let raised = if error.problem == Problem::WrongType {
        match settings_type_error(py) {
            Ok(class) => PyErr::from_type(class.clone(), message.clone()),
            Err(other) => return other,
        }
    } else {
        SettingsError::new_err(message.clone())
    };
    let value = raised.value(py);
    let set = value
        .setattr(intern!(py, "field"), error.field.name(Spelling::Python))
        .and_then(|()| value.setattr(intern!(py, "problem"), error.problem.code()))
        .and_then(|()| value.setattr(intern!(py, "message"), message));
    match set {
        Ok(()) => raised,
        Err(other) => other,
    }
}

/// A Python value held in the form the facade's [`Loose`] borrows from.
pub(crate) enum Held<'a, 'py> {
    /// The keyword was left out.
    Absent,
    /// `None`.
    Null,
    /// `True` / `False` (checked before `int`, of which `bool` is a subclass).
    Bool(bool),
    /// An `int`, saturated to `i128`.
    Integer(i128),
    /// A `float`.
    Number(f64),
    /// A `str` that is valid Unicode.
    Text(Utf8<'a, 'py>),
    /// A `str` holding a lone surrogate.
    InvalidText,
    /// A `bytes` object.
    Bytes(&'a [u8]),
    /// Anything else.
    Other,
}

impl<'a, 'py> Held<'a, 'py> {
    /// Holds `value`; `None` (the Rust option) is a keyword that was not given.
    pub(crate) fn of(value: Option<&'a Bound<'py, PyAny>>) -> Self {
        let Some(value) = value else {
            return Self::Absent;
        };
        if value.is_none() {
            Self::Null
        } else if let Ok(flag) = value.cast::<PyBool>() {
            Self::Bool(flag.is_true())
        } else if let Ok(number) = value.cast::<PyInt>() {
            Self::Integer(saturating_i128(number))
        } else if let Ok(number) = value.cast::<PyFloat>() {
            Self::Number(number.value())
        } else if let Ok(text) = value.cast::<PyString>() {
            Utf8::exact(text).map_or(Self::InvalidText, Self::Text)
        } else if let Ok(bytes) = value.cast::<PyBytes>() {
            Self::Bytes(bytes.as_bytes())
        } else {
            Self::Other
        }
    }

    /// The facade's view of the value.
    pub(crate) fn loose(&self) -> Loose<'_> {
        match self {
            Self::Absent => Loose::Absent,
            Self::Null => Loose::Null,
            Self::Bool(flag) => Loose::Bool(*flag),
            Self::Integer(number) => Loose::Integer(*number),
            Self::Number(number) => Loose::Number(*number),
            Self::Text(text) => {
                core::str::from_utf8(text.as_bytes()).map_or(Loose::InvalidText, Loose::Text)
            }
            Self::InvalidText => Loose::InvalidText,
            Self::Bytes(bytes) => Loose::Bytes(bytes),
            Self::Other => Loose::Other,
        }
    }
}

/// An `int` as `i128`, saturated at either end.
fn saturating_i128(number: &Bound<'_, PyInt>) -> i128 {
    number.extract::<i128>().unwrap_or_else(|_| {
        if number.lt(0).unwrap_or(false) {
            i128::MIN
        } else {
            i128::MAX
        }
    })
}
