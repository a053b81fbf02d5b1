//! Reading a request body as [`crate::body::Cap`] says: kept, drained or cancelled.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use worker::Request;

use crate::body::{self, Cap, Chunk};
use crate::errors::EdgeError;

/// The body, at most `cap` bytes. Read through the stream's own reader rather than the
/// runtime crate's `ByteStream`, so that the rest can be cancelled cleanly.
pub async fn read_capped(req: &mut Request, cap: usize) -> Result<Vec<u8>, EdgeError> {
    let declared = body::declared_length(super::header(req, "content-length").as_deref());
    let mut count = Cap::new(cap, declared)?;
    let Some(stream) = req.inner().body() else {
        return Ok(Vec::new());
    };
    let reader: web_sys::ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    let field = |step: &JsValue, name| js_sys::Reflect::get(step, &JsValue::from_str(name));
    let mut body = Vec::new();
    loop {
        let step = JsFuture::from(reader.read()).await;
        let step = step.map_err(|_| EdgeError::BadRequest)?;
        if field(&step, "done")
            .ok()
            .and_then(|d| d.as_bool())
            .unwrap_or(true)
        {
            return count.end().map(|()| body);
        }
        let value = field(&step, "value").map_err(|_| EdgeError::BadRequest)?;
        let chunk = js_sys::Uint8Array::new(&value);
        match count.chunk(chunk.length() as usize) {
            Chunk::Keep => body.extend_from_slice(&chunk.to_vec()),
            Chunk::Drop => {}
            Chunk::Cancel => {
                let _ = JsFuture::from(reader.cancel()).await;
                return Err(EdgeError::TooLarge);
            }
        }
    }
}
