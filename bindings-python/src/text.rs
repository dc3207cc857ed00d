//! Reading a Python `str`'s UTF-8 bytes (header names and values, settings) without
//! copying it.
//!
//! PyO3 only borrows a `str`'s UTF-8 (`PyUnicode_AsUTF8AndSize`) for the limited API of
//! CPython >= 3.10; for this abi3-py39 wheel it encodes into a new `bytes` object and
//! then copies that into a Rust `String` on every call. `PyUnicode_AsUTF8AndSize` is
//! part of the stable ABI from CPython 3.10 on, so this module declares it itself and
//! calls it only when the running interpreter is 3.10 or newer (checked once, at module
//! import). On 3.9 the value is encoded with `PyUnicode_AsUTF8String` and the `bytes`
//! object is borrowed (kept alive) instead of copied.
//!
//! For ASCII strings (every well-formed header) CPython answers the string's own storage:
//! no allocation at all. A string that is not valid UTF-8 (a lone surrogate) falls back
//! to PyO3's lossy conversion for header values ([`Utf8::of`]) and is refused where the
//! exact bytes matter ([`Utf8::exact`]).

use core::ffi::c_char;
use core::sync::atomic::{AtomicBool, Ordering};

use pyo3::ffi::{Py_ssize_t, PyObject};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

#[allow(unsafe_code)]
unsafe extern "C" {
    fn PyUnicode_AsUTF8AndSize(unicode: *mut PyObject, size: *mut Py_ssize_t) -> *const c_char;
}

/// True when the running interpreter has `PyUnicode_AsUTF8AndSize` in its stable ABI.
static UTF8_VIEW: AtomicBool = AtomicBool::new(false);

/// Called once from the module's initialization, before any other function can run.
pub(crate) fn init(py: Python<'_>) {
    UTF8_VIEW.store(py.version_info() >= (3, 10), Ordering::Relaxed);
}

/// A `str`'s UTF-8 bytes, borrowed whenever possible.
pub(crate) enum Utf8<'a, 'py> {
    /// The string's own UTF-8 representation (CPython >= 3.10).
    View(&'a [u8]),
    /// A `bytes` object holding the encoded string (CPython 3.9).
    Encoded(Bound<'py, PyBytes>),
    /// PyO3's lossy conversion, for strings that are not valid UTF-8.
    Lossy(Vec<u8>),
}

impl<'a, 'py> Utf8<'a, 'py> {
    /// The UTF-8 of `text`; never fails (invalid text is converted lossily, as PyO3's
    /// `to_string_lossy` does).
    pub(crate) fn of(text: &'a Bound<'py, PyString>) -> Self {
        if UTF8_VIEW.load(Ordering::Relaxed) {
            if let Some(view) = view(text) {
                return Self::View(view);
            }
        } else if let Ok(encoded) = text.encode_utf8() {
            return Self::Encoded(encoded);
        }
        Self::Lossy(text.to_string_lossy().into_owned().into_bytes())
    }

    /// The UTF-8 of `text`, or None when it is not valid Unicode (a lone surrogate):
    /// never converted lossily, for values whose exact bytes matter (secrets).
    pub(crate) fn exact(text: &'a Bound<'py, PyString>) -> Option<Self> {
        if UTF8_VIEW.load(Ordering::Relaxed) {
            view(text).map(Self::View)
        } else {
            text.encode_utf8().ok().map(Self::Encoded)
        }
    }

    /// The bytes.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Self::View(view) => view,
            Self::Encoded(bytes) => bytes.as_bytes(),
            Self::Lossy(bytes) => bytes,
        }
    }
}

/// The string's UTF-8 storage, or None (with the Python error cleared) when it holds a
/// lone surrogate. Only called on CPython >= 3.10 (see [`init`]).
#[allow(unsafe_code)]
fn view<'a>(text: &'a Bound<'_, PyString>) -> Option<&'a [u8]> {
    let mut size: Py_ssize_t = 0;
    // SAFETY: the GIL is held (`text` is bound) and `text` is a `str` (or subclass).
    let data = unsafe { PyUnicode_AsUTF8AndSize(text.as_ptr(), &mut size) };
    if data.is_null() {
        // A UnicodeEncodeError: dropped, the caller converts lossily instead.
        drop(PyErr::fetch(text.py()));
        return None;
    }
    let len = usize::try_from(size).unwrap_or(0);
    // SAFETY: CPython answers `size` bytes of UTF-8 at `data`, owned by the string object
    // (cached in it) and valid as long as the string lives; `text` keeps it alive for 'a,
    // and a `str` is immutable.
    Some(unsafe { core::slice::from_raw_parts(data.cast::<u8>(), len) })
}
