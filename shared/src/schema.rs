//! The OpenAPI schemas of the wire types whose serde shape is written by hand (only with
//! the `utoipa` feature, which the origin enables and the Worker never does). The
//! derived ones sit on their types with `cfg_attr`.

use std::borrow::Cow;

use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use crate::actor::{Actor, Fields};
use crate::wire::ResolveRequest;

/// An actor travels as its flat fields (`#[serde(into = "Fields")]`): their schema.
impl PartialSchema for Actor {
    fn schema() -> RefOr<Schema> {
        Fields::schema()
    }
}

impl ToSchema for Actor {
    fn name() -> Cow<'static, str> {
        Fields::name()
    }
}

fn string(description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
}

fn optional_string(description: &str) -> ObjectBuilder {
    string(description).schema_type(SchemaType::from_iter([Type::String, Type::Null]))
}

/// Either shape in one object: `kind` always, then `hash` or, for a cloud PAT, `token`
/// (a body with neither is refused as `invalid request body`).
impl PartialSchema for ResolveRequest {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "`{\"kind\":\"mul\",\"hash\":\"<64 hex>\"}`, or for cloud PATs \
                 `{\"kind\":\"mcn\",\"token\":\"mcn_…\"}`.",
            ))
            .property("kind", string("`mul`, `mdt`, `mat` or `mcn`."))
            .required("kind")
            .property(
                "hash",
                optional_string("Lowercase hex sha256 of the token."),
            )
            .property(
                "token",
                optional_string("Cloud PATs only: the token itself, for Fleet."),
            )
            .into()
    }
}

impl ToSchema for ResolveRequest {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ResolveRequest")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::token::{self, RawToken, TokenHash, TokenKind};
    use crate::wire::{ExchangeAnswer, ResolveAnswer};

    fn properties<T: PartialSchema>() -> Vec<String> {
        let schema = serde_json::to_value(T::schema()).unwrap();
        schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    }

    fn keys(value: &impl serde::Serialize) -> Vec<String> {
        let mut keys: Vec<String> = match serde_json::to_value(value).unwrap() {
            Value::Object(map) => map.keys().cloned().collect(),
            other => panic!("not an object: {other}"),
        };
        keys.sort();
        keys
    }

    #[test]
    fn the_schemas_name_the_fields_that_travel() {
        let mut identity = properties::<Actor>();
        identity.sort();
        let actor = Actor::Pat {
            user_id: uuid::Uuid::nil(),
            scope: crate::Scope::UNSCOPED,
        };
        assert_eq!(identity, keys(&actor));
        assert_eq!(Actor::name(), "Identity");

        let mut resolve = properties::<ResolveRequest>();
        resolve.sort();
        let by_hash = ResolveRequest::ByHash {
            kind: TokenKind::Pat,
            hash: TokenHash::of("mul_x"),
        };
        let cloud = ResolveRequest::CloudPat {
            token: token::parse("mcn_x").unwrap().to_raw(),
        };
        let mut both = [keys(&by_hash), keys(&cloud)].concat();
        both.sort();
        both.dedup();
        assert_eq!(resolve, both);

        let answer = ResolveAnswer {
            identity: actor,
            ttl_secs: 1,
        };
        let mut fields = properties::<ResolveAnswer>();
        fields.sort();
        assert_eq!(fields, keys(&answer));

        let exchange = ExchangeAnswer {
            token: RawToken::generate(TokenKind::Daemon).unwrap(),
            workspace_id: uuid::Uuid::nil(),
            daemon_id: "d".to_owned(),
            user_id: uuid::Uuid::nil(),
            expires_at: String::new(),
        };
        let mut fields = properties::<ExchangeAnswer>();
        fields.sort();
        assert_eq!(fields, keys(&exchange));
    }
}
