//! Reading a request body as a [`Cap`] counts it: kept, drained or cancelled.

use js_sys::Uint8Array;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{ReadableStreamDefaultReader, ReadableStreamReadResult};
use worker::Request;

use crate::body::{Cap, Chunk};
use crate::errors::EdgeError;

/// The body as `count` lets it through. Read through the stream's own reader rather than
/// the runtime crate's `ByteStream`, so that the rest can be cancelled cleanly.
pub async fn read(req: &Request, mut count: Cap) -> Result<Vec<u8>, EdgeError> {
    let Some(stream) = req.inner().body() else {
        return Ok(Vec::new());
    };
    let reader: ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    let mut body = Vec::new();
    loop {
        let step = JsFuture::from(reader.read()).await;
        let step: ReadableStreamReadResult =
            step.map_err(|_| EdgeError::BadRequest)?.unchecked_into();
        if step.get_done().unwrap_or(true) {
            return count.end().map(|()| body);
        }
        let chunk = Uint8Array::new(&step.get_value());
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
