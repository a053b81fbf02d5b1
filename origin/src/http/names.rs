//! The one rule for names people give things (tokens, workspaces, runtimes, agents):
//! trimmed, 1 to 100 characters, no control characters (Postgres refuses NUL, and no
//! name needs the others).

use super::error::{AppError, AppResult};

pub const MAX_NAME_CHARS: usize = 100;

pub fn name(value: Option<&str>) -> AppResult<String> {
    let name = value.map(str::trim).unwrap_or_default();
    if name.is_empty() {
        return Err(AppError::BadRequest("name is required"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(AppError::BadRequest("name is too long"));
    }
    if name.chars().any(char::is_control) {
        return Err(AppError::BadRequest(
            "name must not contain control characters",
        ));
    }
    Ok(name.to_owned())
}
