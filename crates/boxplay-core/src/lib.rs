//! boxplay-core: the Node-API addon of the native runtime. It only spawns `boxplay-init`
//! (which does the namespace work in a fresh single-threaded process) and moves bytes and
//! events between it and JS on Rust threads, so Node's thread never blocks.
//!
//! Exports (typed in server/native/core.ts):
//!   spawn(helper, specJson, cols, rows, stdin, callback) → handle   (cols = 0: no pty)
//!   write(handle, buffer) · closeStdin(handle) · resize(handle, cols, rows) · kill(handle, signo)
//!   sweep(stateRoot) → JSON { removed: string[], failed: string[] }
//!   removeRun(runDir) → null, or what could not be removed (a kept run's changes)

mod js;
mod napi_sys;
mod run;

use js::{Env, JsResult, Value};
use run::{RunHandle, SpawnOptions};

unsafe extern "C" fn spawn(env: Env, info: napi_sys::napi_callback_info) -> Value {
    js::entry(env, info, |env, a| {
        let helper = js::string(env, js::arg(a, 0)?)?;
        let spec_json = js::string(env, js::arg(a, 1)?)?;
        let cols = js::int(env, js::arg(a, 2)?)?;
        let rows = js::int(env, js::arg(a, 3)?)?;
        let stdin = js::boolean(env, js::arg(a, 4)?)?;
        let callback = js::Callback::new(env, js::arg(a, 5)?)?;
        let tty = (cols > 0 && rows > 0).then(|| (cols.min(u16::MAX as i32) as u16, rows.min(u16::MAX as i32) as u16));
        match run::spawn(SpawnOptions { helper, spec_json, tty, stdin }, callback) {
            Ok(handle) => js::make_external(env, handle),
            Err(e) => Err(js::JsError(e)),
        }
    })
}

unsafe extern "C" fn write(env: Env, info: napi_sys::napi_callback_info) -> Value {
    js::entry(env, info, |env, a| {
        let handle = js::external::<RunHandle>(env, js::arg(a, 0)?)?;
        handle.write(js::bytes(env, js::arg(a, 1)?)?);
        js::undefined(env)
    })
}

unsafe extern "C" fn close_stdin(env: Env, info: napi_sys::napi_callback_info) -> Value {
    js::entry(env, info, |env, a| {
        js::external::<RunHandle>(env, js::arg(a, 0)?)?.close_stdin();
        js::undefined(env)
    })
}

unsafe extern "C" fn resize(env: Env, info: napi_sys::napi_callback_info) -> Value {
    js::entry(env, info, |env, a| {
        let handle = js::external::<RunHandle>(env, js::arg(a, 0)?)?;
        let cols = js::int(env, js::arg(a, 1)?)?.clamp(1, u16::MAX as i32) as u16;
        let rows = js::int(env, js::arg(a, 2)?)?.clamp(1, u16::MAX as i32) as u16;
        handle.resize(cols, rows).map_err(js::JsError)?;
        js::undefined(env)
    })
}

unsafe extern "C" fn kill(env: Env, info: napi_sys::napi_callback_info) -> Value {
    js::entry(env, info, |env, a| {
        let handle = js::external::<RunHandle>(env, js::arg(a, 0)?)?;
        handle.kill(js::int(env, js::arg(a, 1)?)?);
        js::undefined(env)
    })
}

unsafe extern "C" fn sweep(env: Env, info: napi_sys::napi_callback_info) -> Value {
    js::entry(env, info, |env, a| {
        let root = js::string(env, js::arg(a, 0)?)?;
        let (removed, failed) = boxplay_container::state::sweep(&root);
        js::make_string(env, &serde_json::json!({ "removed": removed, "failed": failed }).to_string())
    })
}

unsafe extern "C" fn remove_run(env: Env, info: napi_sys::napi_callback_info) -> Value {
    js::entry(env, info, |env, a| {
        let dir = js::string(env, js::arg(a, 0)?)?;
        match boxplay_container::state::remove_run(std::path::Path::new(&dir)) {
            None => js::undefined(env),
            Some(problem) => js::make_string(env, &problem),
        }
    })
}

fn register(env: Env, exports: Value) -> JsResult<()> {
    js::export(env, exports, "spawn", spawn)?;
    js::export(env, exports, "write", write)?;
    js::export(env, exports, "closeStdin", close_stdin)?;
    js::export(env, exports, "resize", resize)?;
    js::export(env, exports, "kill", kill)?;
    js::export(env, exports, "sweep", sweep)?;
    js::export(env, exports, "removeRun", remove_run)?;
    Ok(())
}

/// Node calls this when the addon is loaded (the symbol NAPI_MODULE_INIT would define).
///
/// # Safety
/// Called by Node with a live env and exports object.
#[no_mangle]
pub unsafe extern "C" fn napi_register_module_v1(env: Env, exports: Value) -> Value {
    let ok = std::panic::catch_unwind(|| register(env, exports)).map(|r| r.is_ok()).unwrap_or(false);
    if ok {
        exports
    } else {
        std::ptr::null_mut()
    }
}
