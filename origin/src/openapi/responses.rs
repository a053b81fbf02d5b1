//! The error answers an operation documents, taken from the errors themselves: a route
//! names the `Refusal`s and `AuthError`s it can answer with (and the few fixed
//! `AppError`s, such as `database unavailable`), and each status becomes one response
//! whose `error` is exactly one of those messages. No message is written in an
//! annotation; `finish` then adds what every route of a caller class answers.

use std::collections::BTreeMap;

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::RefOr;

use crate::http::AppError;

/// Declares a unit struct implementing `utoipa::IntoResponses` with the error answers
/// listed (anything that converts into an `AppError`, each with an optional note for
/// the reader), grouped by status. Name it in the `responses(…)` of a
/// `#[utoipa::path]`, beside the success tuples:
///
/// ```text
/// refusals! {
///     AddMemberRefusals = [
///         Refusal::InvalidEmail,
///         AuthError::InsufficientPermissions => "admins cannot make owners",
///     ]
/// }
/// #[utoipa::path(post, path = "…", responses((status = 201, body = Membership), AddMemberRefusals))]
/// ```
macro_rules! refusals {
    ($($(#[$meta:meta])* $name:ident = [$($error:expr $(=> $note:literal)?),+ $(,)?])+) => {
        $(
            $(#[$meta])*
            pub struct $name;

            impl utoipa::IntoResponses for $name {
                fn responses() -> std::collections::BTreeMap<
                    String,
                    utoipa::openapi::RefOr<utoipa::openapi::response::Response>,
                > {
                    $crate::openapi::responses::by_status(&[
                        $(($crate::http::AppError::from($error), None $(.or(Some($note)))?)),+
                    ])
                }
            }
        )+
    };
}
pub(crate) use refusals;

/// One response per status: its body `{"error": …}` with exactly the listed messages.
pub fn by_status(errors: &[(AppError, Option<&str>)]) -> BTreeMap<String, RefOr<Response>> {
    let mut grouped: BTreeMap<u16, Vec<(String, Option<&str>)>> = BTreeMap::new();
    for (e, note) in errors {
        let listed = grouped.entry(e.status().as_u16()).or_default();
        let message = e.message();
        if !listed.iter().any(|(m, _)| *m == message) {
            listed.push((message, *note));
        }
    }
    grouped
        .into_iter()
        .map(|(status, listed)| (status.to_string(), response(listed).into()))
        .collect()
}

fn response(listed: Vec<(String, Option<&str>)>) -> Response {
    let description: Vec<String> = listed
        .iter()
        .map(|(m, note)| match note {
            Some(note) => format!("`{m}` ({note})"),
            None => format!("`{m}`"),
        })
        .collect();
    let error = ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(listed.into_iter().map(|(m, _)| m)));
    let body = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property("error", error)
        .required("error");
    ResponseBuilder::new()
        .description(description.join(", "))
        .content(
            "application/json",
            ContentBuilder::new().schema(Some(body)).build(),
        )
        .build()
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tollgate_shared::AuthError;

    use super::*;
    use crate::refusal::Refusal;

    #[test]
    fn each_status_lists_exactly_its_messages() {
        let responses = by_status(&[
            (Refusal::InvalidEmail.into(), None),
            (
                AuthError::InsufficientPermissions.into(),
                Some("a plain member"),
            ),
            (Refusal::InvalidRole.into(), None),
            (Refusal::InvalidEmail.into(), None),
            (AppError::DatabaseUnavailable, None),
        ]);
        let doc = serde_json::to_value(&responses).unwrap();
        assert_eq!(
            doc["400"]["content"]["application/json"]["schema"],
            json!({
                "type": "object",
                "required": ["error"],
                "properties": { "error": {
                    "type": "string",
                    "enum": ["invalid email", "role must be owner, admin or member"]
                } }
            })
        );
        let only = |status: &str| &doc[status]["content"]["application/json"]["schema"];
        assert_eq!(
            only("403")["properties"]["error"]["enum"],
            json!(["insufficient permissions"])
        );
        assert_eq!(
            only("503")["properties"]["error"]["enum"],
            json!(["database unavailable"])
        );
        assert_eq!(
            doc["403"]["description"],
            "`insufficient permissions` (a plain member)"
        );
        assert_eq!(doc.as_object().unwrap().len(), 3);
    }
}
