//! Borrowing a request body from Python without copying it.
//!
//! `bytes` is borrowed through PyO3's safe API. Every other object (`bytearray`,
//! `memoryview`, `array.array`, ...) is borrowed through the buffer protocol. PyO3 only
//! exposes `PyBuffer` for the limited API of CPython >= 3.11, while this package is one
//! abi3 wheel for CPython >= 3.9, so this module declares the two buffer-protocol
//! functions itself. They and the `Py_buffer` layout have been exported unchanged by
//! every CPython 3 release (3.11 only added them to the limited API's header list).

use core::ffi::{c_char, c_int, c_void};
use core::marker::PhantomData;

use pyo3::exceptions::PyTypeError;
use pyo3::ffi::{Py_ssize_t, PyObject};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

/// The C `Py_buffer` struct, field for field.
#[repr(C)]
struct RawBuffer {
    buf: *mut c_void,
    obj: *mut PyObject,
    len: Py_ssize_t,
    itemsize: Py_ssize_t,
    readonly: c_int,
    ndim: c_int,
    format: *mut c_char,
    shape: *mut Py_ssize_t,
    strides: *mut Py_ssize_t,
    suboffsets: *mut Py_ssize_t,
    internal: *mut c_void,
}

/// `PyBUF_SIMPLE`: a C-contiguous run of unsigned bytes, or a `BufferError`.
const PYBUF_SIMPLE: c_int = 0;

#[allow(unsafe_code)]
unsafe extern "C" {
    fn PyObject_GetBuffer(obj: *mut PyObject, view: *mut RawBuffer, flags: c_int) -> c_int;
    fn PyBuffer_Release(view: *mut RawBuffer);
}

/// An exported buffer, released on drop (which happens while attached: this type is
/// neither `Send` nor `Sync`, so it cannot enter a detached closure).
pub(crate) struct Exported<'py> {
    view: RawBuffer,
    _attached: PhantomData<Python<'py>>,
}

impl<'py> Exported<'py> {
    #[allow(unsafe_code)]
    fn new(object: &Bound<'py, PyAny>) -> PyResult<Self> {
        let mut view = RawBuffer {
            buf: core::ptr::null_mut(),
            obj: core::ptr::null_mut(),
            len: 0,
            itemsize: 0,
            readonly: 0,
            ndim: 0,
            format: core::ptr::null_mut(),
            shape: core::ptr::null_mut(),
            strides: core::ptr::null_mut(),
            suboffsets: core::ptr::null_mut(),
            internal: core::ptr::null_mut(),
        };
        // SAFETY: the GIL is held (`object` is bound), `view` is a valid, writable
        // `Py_buffer`; on failure CPython sets an exception and leaves nothing to release.
        let status = unsafe { PyObject_GetBuffer(object.as_ptr(), &mut view, PYBUF_SIMPLE) };
        if status != 0 {
            return Err(PyErr::fetch(object.py()));
        }
        Ok(Self {
            view,
            _attached: PhantomData,
        })
    }

    #[allow(unsafe_code)]
    fn as_slice(&self) -> &[u8] {
        let len = usize::try_from(self.view.len).unwrap_or(0);
        if len == 0 || self.view.buf.is_null() {
            return &[];
        }
        // SAFETY: with PYBUF_SIMPLE the exporter guarantees `len` contiguous bytes at
        // `buf`, valid until the buffer is released (which is when `self` drops), and an
        // exporter with live exports refuses to resize (`bytearray` raises BufferError).
        unsafe { core::slice::from_raw_parts(self.view.buf.cast::<u8>(), len) }
    }
}

impl Drop for Exported<'_> {
    #[allow(unsafe_code)]
    fn drop(&mut self) {
        // SAFETY: the view was filled by a successful PyObject_GetBuffer and is released
        // exactly once, while attached (see the type's doc).
        unsafe { PyBuffer_Release(&mut self.view) }
    }
}

/// A request body borrowed from a Python object, never copied.
pub(crate) enum Body<'a, 'py> {
    /// An immutable `bytes` object.
    Bytes(&'a [u8]),
    /// Any other object exporting the buffer protocol.
    Buffer(Exported<'py>),
}

impl<'a, 'py> Body<'a, 'py> {
    /// Borrows `object`; a `str` (or anything that is not a byte buffer) is a `TypeError`.
    pub(crate) fn borrow(object: &'a Bound<'py, PyAny>) -> PyResult<Self> {
        if let Ok(bytes) = object.cast::<PyBytes>() {
            return Ok(Self::Bytes(bytes.as_bytes()));
        }
        if object.is_instance_of::<PyString>() {
            return Err(PyTypeError::new_err(
                "body must be the raw request body as bytes, bytearray or memoryview, not str: \
                 pass the raw bytes exactly as received (decoding and re-encoding changes what was signed)",
            ));
        }
        Exported::new(object).map(Self::Buffer).map_err(|_| {
            let type_name = object
                .get_type()
                .name()
                .map(|name| name.to_string())
                .unwrap_or_else(|_| "object".to_owned());
            PyTypeError::new_err(format!(
                "body must be bytes, bytearray or a contiguous memoryview of the raw request body, not {type_name}"
            ))
        })
    }

    /// The bytes.
    pub(crate) fn as_slice(&self) -> &[u8] {
        match self {
            Self::Bytes(bytes) => bytes,
            Self::Buffer(exported) => exported.as_slice(),
        }
    }

    /// True when no other thread can change the bytes while the GIL is released
    /// (`bytes`, or a read-only buffer such as a memoryview of `bytes`).
    pub(crate) fn is_immutable(&self) -> bool {
        match self {
            Self::Bytes(_) => true,
            Self::Buffer(exported) => exported.view.readonly != 0,
        }
    }
}
