//! N-API binding of the engine: `new NativeBpe(classes, byteIds, merges, cacheSize)` with
//! `count(text)` and `encode(text)` for normalized segments. Loaded by src/native.ts.

pub mod engine;

use napi::bindgen_prelude::{Int32Array, Uint32Array, Uint8Array};
use napi::{Error, Result, Status};
use napi_derive::napi;

/// Bumped whenever the binding's signature or the table layout changes; native.ts refuses an
/// addon built from other sources.
#[napi]
pub fn abi_version() -> u32 {
    1
}

#[napi]
pub struct NativeBpe {
    engine: engine::Engine,
    out: Vec<u32>,
}

#[napi]
impl NativeBpe {
    #[napi(constructor, catch_unwind)]
    pub fn new(classes: Uint8Array, byte_ids: Int32Array, merges: Int32Array, cache_size: u32) -> Result<Self> {
        let engine = engine::Engine::new(classes.to_vec(), &byte_ids, merges.to_vec(), cache_size as usize)
            .map_err(|e| Error::new(Status::InvalidArg, e.0))?;
        Ok(NativeBpe { engine, out: Vec::new() })
    }

    /// Token count of a normalized segment. (catch_unwind: a panic becomes a JS exception, not an abort.)
    #[napi(catch_unwind)]
    pub fn count(&mut self, text: String) -> u32 {
        self.engine.count(&text)
    }

    /// Token ids of a normalized segment.
    #[napi(catch_unwind)]
    pub fn encode(&mut self, text: String) -> Uint32Array {
        self.out.clear();
        self.engine.encode(&text, &mut self.out);
        Uint32Array::new(self.out.clone())
    }
}
