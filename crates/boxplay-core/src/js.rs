//! The little of Node-API this addon needs, wrapped so the rest reads as Rust: arguments in,
//! values out, errors thrown as JS exceptions, panics caught before they cross the FFI.

use crate::napi_sys as sys;
use std::ffi::{c_void, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

pub type Env = sys::napi_env;
pub type Value = sys::napi_value;

/// An error for JS: becomes a thrown `Error` with this message.
pub struct JsError(pub String);

impl<E: std::fmt::Display> From<E> for JsError {
    fn from(e: E) -> Self {
        JsError(e.to_string())
    }
}

pub type JsResult<T> = Result<T, JsError>;

fn check(status: sys::napi_status, what: &str) -> JsResult<()> {
    if status == sys::napi_status_napi_ok {
        Ok(())
    } else {
        Err(JsError(format!("Node-API call {what} failed with status {status}")))
    }
}

/// Runs an exported function body: errors are thrown, panics become errors too.
pub fn entry(env: Env, info: sys::napi_callback_info, body: fn(Env, &[Value]) -> JsResult<Value>) -> Value {
    let result = catch_unwind(AssertUnwindSafe(|| {
        let args = args(env, info)?;
        body(env, &args)
    }));
    let message = match result {
        Ok(Ok(v)) => return v,
        Ok(Err(JsError(m))) => m,
        Err(panic) => format!(
            "boxplay-core panicked: {}",
            panic.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| panic.downcast_ref::<String>().cloned()).unwrap_or_default()
        ),
    };
    let c = CString::new(message.replace('\0', " ")).unwrap_or_default();
    // SAFETY: env is the live env of this call; c is NUL-terminated.
    unsafe { sys::napi_throw_error(env, ptr::null(), c.as_ptr()) };
    ptr::null_mut()
}

fn args(env: Env, info: sys::napi_callback_info) -> JsResult<Vec<Value>> {
    let mut argc: usize = 8;
    let mut argv = [ptr::null_mut(); 8];
    // SAFETY: argv has room for argc values; the other out-pointers may be NULL.
    check(unsafe { sys::napi_get_cb_info(env, info, &mut argc as *mut usize as *mut _, argv.as_mut_ptr(), ptr::null_mut(), ptr::null_mut()) }, "get_cb_info")?;
    Ok(argv[..argc.min(8)].to_vec())
}

pub fn arg(args: &[Value], i: usize) -> JsResult<Value> {
    args.get(i).copied().ok_or_else(|| JsError(format!("missing argument {}", i + 1)))
}

pub fn string(env: Env, v: Value) -> JsResult<String> {
    let mut len: usize = 0;
    // SAFETY: querying the length with a NULL buffer is the documented way.
    check(unsafe { sys::napi_get_value_string_utf8(env, v, ptr::null_mut(), 0, &mut len as *mut usize as *mut _) }, "string length (expected a string)")?;
    let mut buf = vec![0u8; len + 1];
    let mut written: usize = 0;
    // SAFETY: buf has room for len bytes plus the NUL.
    check(unsafe { sys::napi_get_value_string_utf8(env, v, buf.as_mut_ptr() as *mut _, buf.len() as _, &mut written as *mut usize as *mut _) }, "read string")?;
    buf.truncate(written);
    Ok(String::from_utf8(buf)?)
}

pub fn int(env: Env, v: Value) -> JsResult<i32> {
    let mut n = 0;
    // SAFETY: n is a valid out-pointer.
    check(unsafe { sys::napi_get_value_int32(env, v, &mut n) }, "read number (expected a number)")?;
    Ok(n)
}

pub fn boolean(env: Env, v: Value) -> JsResult<bool> {
    let mut b = false;
    // SAFETY: b is a valid out-pointer.
    check(unsafe { sys::napi_get_value_bool(env, v, &mut b) }, "read boolean (expected a boolean)")?;
    Ok(b)
}

/// The bytes of a Buffer / Uint8Array argument (copied).
pub fn bytes(env: Env, v: Value) -> JsResult<Vec<u8>> {
    let mut data: *mut c_void = ptr::null_mut();
    let mut len: usize = 0;
    // SAFETY: out-pointers are valid; the returned region is valid while v is alive (this call).
    check(unsafe { sys::napi_get_buffer_info(env, v, &mut data, &mut len as *mut usize as *mut _) }, "read buffer (expected a Buffer)")?;
    if len == 0 {
        return Ok(Vec::new());
    }
    // SAFETY: Node guarantees data points to len readable bytes.
    Ok(unsafe { std::slice::from_raw_parts(data as *const u8, len) }.to_vec())
}

pub fn undefined(env: Env) -> JsResult<Value> {
    let mut v = ptr::null_mut();
    // SAFETY: v is a valid out-pointer.
    check(unsafe { sys::napi_get_undefined(env, &mut v) }, "get_undefined")?;
    Ok(v)
}

pub fn make_string(env: Env, s: &str) -> JsResult<Value> {
    let mut v = ptr::null_mut();
    // SAFETY: pointer and length describe s's UTF-8 bytes.
    check(unsafe { sys::napi_create_string_utf8(env, s.as_ptr() as *const _, s.len() as _, &mut v) }, "create_string")?;
    Ok(v)
}

pub fn make_buffer(env: Env, data: &[u8]) -> JsResult<Value> {
    let mut v = ptr::null_mut();
    // SAFETY: data is valid for reads of its length; Node copies it.
    check(unsafe { sys::napi_create_buffer_copy(env, data.len() as _, data.as_ptr() as *const c_void, ptr::null_mut(), &mut v) }, "create_buffer_copy")?;
    Ok(v)
}

/// Wraps a Rust value in a JS external that drops it when collected.
pub fn make_external<T: Send + Sync + 'static>(env: Env, value: std::sync::Arc<T>) -> JsResult<Value> {
    unsafe extern "C" fn finalize<T>(_env: Env, data: *mut c_void, _hint: *mut c_void) {
        // SAFETY: data is the pointer made by Box::into_raw below, finalized exactly once.
        drop(unsafe { Box::from_raw(data as *mut std::sync::Arc<T>) });
    }
    let raw = Box::into_raw(Box::new(value));
    let mut v = ptr::null_mut();
    // SAFETY: raw stays valid until the finalizer runs.
    let status = unsafe { sys::napi_create_external(env, raw as *mut c_void, Some(finalize::<T>), ptr::null_mut(), &mut v) };
    if status != sys::napi_status_napi_ok {
        // SAFETY: the external was not created, so we still own raw.
        drop(unsafe { Box::from_raw(raw) });
        return Err(JsError("could not create the run handle".into()));
    }
    Ok(v)
}

/// The value behind an external made by `make_external::<T>`. The caller must only pass
/// handles of that type (the TS loader keeps them typed and private).
pub fn external<T: Send + Sync + 'static>(env: Env, v: Value) -> JsResult<std::sync::Arc<T>> {
    let mut data: *mut c_void = ptr::null_mut();
    // SAFETY: data is a valid out-pointer.
    check(unsafe { sys::napi_get_value_external(env, v, &mut data) }, "read run handle (expected a handle from spawn)")?;
    if data.is_null() {
        return Err(JsError("invalid run handle".into()));
    }
    // SAFETY: externals of this addon hold a Box<Arc<T>> (see make_external) that lives as
    // long as the JS value, which is alive during this call.
    Ok(unsafe { &*(data as *const std::sync::Arc<T>) }.clone())
}

pub fn export(env: Env, exports: Value, name: &str, f: unsafe extern "C" fn(Env, sys::napi_callback_info) -> Value) -> JsResult<()> {
    let mut func = ptr::null_mut();
    let cname = CString::new(name)?;
    // SAFETY: cname is NUL-terminated and f is a valid callback for the module's lifetime.
    check(unsafe { sys::napi_create_function(env, cname.as_ptr(), name.len() as _, Some(f), ptr::null_mut(), &mut func) }, "create_function")?;
    // SAFETY: exports is the module's exports object.
    check(unsafe { sys::napi_set_named_property(env, exports, cname.as_ptr(), func) }, "set_named_property")
}

/// A JS callback that Rust threads can call: `(kind: string, data: Buffer | string) => void`.
pub struct Callback(sys::napi_threadsafe_function);

// SAFETY: threadsafe functions exist to be called from any thread; Node serialises the calls.
unsafe impl Send for Callback {}
// SAFETY: as above; napi_call_threadsafe_function is safe to call concurrently.
unsafe impl Sync for Callback {}

pub enum Message {
    Bytes(&'static str, Vec<u8>),
    Text(&'static str, String),
}

unsafe extern "C" fn call_js(env: Env, js_cb: Value, _ctx: *mut c_void, data: *mut c_void) {
    // SAFETY: data is a Box<Message> leaked by Callback::send; we take it back exactly once.
    let msg = unsafe { Box::from_raw(data as *mut Message) };
    if env.is_null() || js_cb.is_null() {
        return; // Node is shutting down: nothing to deliver to.
    }
    let _ = catch_unwind(AssertUnwindSafe(|| -> JsResult<()> {
        let (kind, value) = match *msg {
            Message::Bytes(k, ref b) => (k, make_buffer(env, b)?),
            Message::Text(k, ref s) => (k, make_string(env, s)?),
        };
        let argv = [make_string(env, kind)?, value];
        let this = undefined(env)?;
        let mut result = ptr::null_mut();
        // SAFETY: js_cb is the callback given at creation; argv holds two live values. A JS
        // exception propagates to Node's uncaught-exception handling, as for any callback.
        unsafe { sys::napi_call_function(env, this, js_cb, 2, argv.as_ptr(), &mut result) };
        Ok(())
    }));
}

impl Callback {
    pub fn new(env: Env, func: Value) -> JsResult<Callback> {
        let name = make_string(env, "boxplay-core run")?;
        let mut tsfn = ptr::null_mut();
        // A bounded queue with blocking calls is the backpressure: a container writing faster
        // than JS takes its output blocks in write(2) once QUEUE chunks (≤ 64 KiB each) wait.
        const QUEUE: usize = 256;
        // SAFETY: func is a JS function value of this call; one owner thread releases it.
        check(
            unsafe { sys::napi_create_threadsafe_function(env, func, ptr::null_mut(), name, QUEUE as _, 1, ptr::null_mut(), None, ptr::null_mut(), Some(call_js), &mut tsfn) },
            "create_threadsafe_function (expected a callback function)",
        )?;
        Ok(Callback(tsfn))
    }

    pub fn send(&self, msg: Message) {
        let raw = Box::into_raw(Box::new(msg)) as *mut c_void;
        // SAFETY: the tsfn is alive until `release` (called once, after every sender stopped).
        let status = unsafe { sys::napi_call_threadsafe_function(self.0, raw, sys::napi_threadsafe_function_call_mode_napi_tsfn_blocking) };
        if status != sys::napi_status_napi_ok {
            // SAFETY: Node did not take the message, so it is still ours.
            drop(unsafe { Box::from_raw(raw as *mut Message) });
        }
    }

    /// Lets Node exit and free the function once queued calls are delivered.
    pub fn release(self) {
        // SAFETY: called once, by the last thread using this callback.
        unsafe { sys::napi_release_threadsafe_function(self.0, sys::napi_threadsafe_function_release_mode_napi_tsfn_release) };
    }
}
